// Output files in Node, written as the C library writes them (src/runtime/outfile.c): a new
// temporary file in the target's folder, created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW: no
// existing name, symlink or not, is ever opened, let alone truncated) under a random name
// .NAME.edgeq-HOST-PID-RAND.tmp, synced and renamed over the target when complete. The target
// may be neither a directory nor the input under another name (device and inode); a device
// (/dev/null) is written directly. Opening removes the target's stale temporaries: that exact
// pattern, made on this host by a process that is gone, a regular file of ours with one link.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EdgeqError } from './errors.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW = 0 } = fs.constants;

/** FNV-1a of the host name, as the C side computes it (temporaries of other hosts are left alone). */
function hostTag() {
  let h = 2166136261;
  for (const b of Buffer.from(os.hostname())) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function why(e) {
  return e && e.code === 'ENOSPC' ? 'disk full' : (e && e.message) || String(e);
}

/**
 * Check the target against the input (an open fd, or -1) and say how to write it:
 * null when it does not exist, its fs.Stats otherwise. Throws EdgeqError ARG.
 */
export function checkOutput(target, inputFd = -1, inputName = 'the input') {
  if (!target) throw new EdgeqError('ARG', 'no output file given');
  let st = null;
  try { st = fs.statSync(target); } catch { /* does not exist (yet) */ }
  if ((st && st.isDirectory()) || target.endsWith('/') || target.endsWith(path.sep)) {
    throw new EdgeqError('ARG', `${target}: is a directory (give an output file name)`);
  }
  if (st && inputFd >= 0) {
    const si = fs.fstatSync(inputFd);
    if (si.dev === st.dev && si.ino === st.ino) {
      throw new EdgeqError('ARG', `${target}: is ${inputName} (the same file); choose another output`);
    }
  }
  return st;
}

function removeStale(dir, prefix, inputFd) {
  let names;
  try { names = fs.readdirSync(dir); } catch { return; }
  const si = inputFd >= 0 ? fs.fstatSync(inputFd) : null;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d{1,10})-[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid <= 1 || pid === process.pid) continue;
    try { process.kill(pid, 0); continue; } catch (e) { if (e.code !== 'ESRCH') continue; } // alive, or not ours to ask
    const full = path.join(dir, name);
    try {
      const st = fs.lstatSync(full);
      if (!st.isFile() || st.nlink !== 1) continue;
      if (typeof process.geteuid === 'function' && st.uid !== process.geteuid()) continue;
      if (si && si.dev === st.dev && si.ino === st.ino) continue;
      fs.unlinkSync(full);
    } catch { /* gone meanwhile */ }
  }
}

/**
 * Open target for writing: { write(bytes), commit(), abort(), tempPath }. inputFd/inputName:
 * the input it must not be. Throws EdgeqError (ARG for the checks, IO for the file system).
 */
export function openOutput(target, { inputFd = -1, inputName } = {}) {
  const st = checkOutput(target, inputFd, inputName);
  let fd = -1;
  let tempPath = null;
  if (st && !st.isFile()) {
    try { fd = fs.openSync(target, 'w'); } catch (e) { throw new EdgeqError('IO', `${target}: cannot open for writing (${why(e)})`, { cause: e }); }
  } else {
    const dir = path.dirname(target);
    let base = Buffer.from(path.basename(target));
    if (base.length > 200) base = base.subarray(0, 200);   // NAME_MAX: as the C side truncates
    const prefix = `.${base.toString()}.edgeq-${hostTag()}-`;
    removeStale(dir, prefix, inputFd);
    for (let attempt = 0; fd < 0; attempt++) {
      tempPath = path.join(dir, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
      try {
        fd = fs.openSync(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
      } catch (e) {
        if (e.code !== 'EEXIST' || attempt >= 100) {
          throw new EdgeqError('IO', `${target}: cannot create a file in its folder (${why(e)})`, { cause: e });
        }
      }
    }
  }
  const abort = () => {
    if (fd >= 0) { try { fs.closeSync(fd); } catch { /* closed */ } fd = -1; }
    if (tempPath) { try { fs.unlinkSync(tempPath); } catch { /* gone */ } tempPath = null; }
  };
  return {
    get tempPath() { return tempPath; },
    write(bytes) {
      try {
        let done = 0;
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      } catch (e) {
        throw new EdgeqError('IO', `${target}: write failed (${why(e)})`, { cause: e });
      }
    },
    commit() {
      try {
        // data on disk before the rename makes it visible: no empty file after a crash
        if (tempPath) {
          try { fs.fsyncSync(fd); } catch (e) { if (!['EINVAL', 'ENOTSUP', 'EROFS'].includes(e.code)) throw e; }
        }
        fs.closeSync(fd);
        fd = -1;
      } catch (e) {
        abort();
        throw new EdgeqError('IO', `${target}: write failed (${why(e)})`, { cause: e });
      }
      if (!tempPath) return;
      try {
        fs.renameSync(tempPath, target);
        tempPath = null;
      } catch (e) {
        abort();
        throw new EdgeqError('IO', `${target}: cannot replace it with the new file (${why(e)})`, { cause: e });
      }
    },
    abort,
  };
}
