/* Writing an output file safely: the bytes go to a fresh temporary file in the target's
 * directory, created exclusively (O_CREAT|O_EXCL, O_NOFOLLOW: a name that already exists,
 * symlink or not, is never opened, let alone truncated), with a random suffix; the commit
 * flushes, syncs and closes it, checking each step, and renames it over the target. So an
 * output is either complete under its name or not there, an existing file of that name is
 * replaced only on success, and no file but the one created here is ever written.
 *
 * Before anything is created the target is checked: it must not be a directory, nor the same
 * file (device and inode, so "./a.gguf", a symlink or a hard link all count) as one of the
 * caller's inputs. A target that exists and is neither a regular file nor a directory (a
 * character device such as /dev/null, a FIFO, /dev/stdout) is written directly instead.
 *
 * Temporaries are named ".<target name>.edgeq-<host>-<pid>-<random>.tmp", <host> an 8-hex-digit
 * hash of the host name. Opening an output also removes that target's stale temporaries: files
 * of exactly that pattern, made on this host by a process that no longer exists (an edgeq that
 * was killed), regular files with one link, owned by this user, and not one of the inputs.
 * Nothing else is touched. Where processes cannot be asked about (WASI, Emscripten) no
 * temporary counts as stale. */
#ifndef EQ_OUTFILE_H
#define EQ_OUTFILE_H

#include <stddef.h>
#include <stdio.h>
#include "edgeq.h"

typedef struct eq_outfile eq_outfile;

/* Told the temporary's path just before it is created (so no moment exists when the file is
 * there and its name unknown), and NULL once it is gone again (renamed over the target,
 * removed, or never created): what a signal handler needs to clean up after an interrupted
 * write. The path is only valid during the call: copy it. */
typedef void (*eq_outfile_temp_fn)(void *user, const char *temp_path);

typedef struct {
    const char *const *inputs;   /* files the output must not be (NULL entries skipped) */
    int n_inputs;
    eq_outfile_temp_fn on_temp;  /* may be NULL */
    void *user;
} eq_outfile_opts;

/* The target checks alone (directory, same file as an input), for callers that want to fail
 * before expensive work. o may be NULL. EQ_ERR_ARG with a one-line message naming the file. */
eq_status eq_outfile_check(const char *path, const eq_outfile_opts *o, char *err, size_t errlen);

/* Check the target, clean its stale temporaries and create a new temporary (or open the
 * device). On failure *out is NULL and err names the file and the reason. */
eq_status eq_outfile_open(const char *path, const eq_outfile_opts *o, eq_outfile **out, char *err, size_t errlen);

/* The stream to write to (buffered stdio; the commit checks what fwrite calls did not). */
FILE *eq_outfile_stream(eq_outfile *f);
/* fwrite all n bytes: 0, or -1 with the reason kept for the commit's message ("disk full"). */
int eq_outfile_write(eq_outfile *f, const void *data, size_t n);
/* The temporary file's path, NULL when writing directly to a device. */
const char *eq_outfile_temp_path(const eq_outfile *f);

/* Flush, sync, close (each checked) and rename over the target. Frees f whatever happens; on
 * failure the temporary is removed and err says what failed ("disk full" included). */
eq_status eq_outfile_commit(eq_outfile *f, char *err, size_t errlen);

/* Give up: close and remove the temporary, free f. NULL is fine. */
void eq_outfile_abort(eq_outfile *f);

#endif
