/* Safe output files: exclusive temporary in the target's directory, checked writes, rename
 * over the target (see outfile.h). POSIX calls only; wasi-libc and Emscripten have them all
 * but kill(), getpid() and gethostname(), which only the stale-temporary clean-up needs. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/outfile.h"
#include "runtime/entropy.h"
#include "runtime/status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if !defined(__wasi__) && !defined(__EMSCRIPTEN__)
#include <signal.h>          /* kill(pid, 0): is a temporary's maker still running? */
#define EQ_OUTFILE_PIDS 1
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0         /* O_EXCL alone already refuses an existing name, symlink or not */
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define BASE_MAX 200         /* bytes of the target's name kept in the temporary's (NAME_MAX 255) */
#define TAG ".edgeq-"

struct eq_outfile {
    FILE *f;
    char *path;              /* the target */
    char *tmp;               /* the temporary; NULL when writing straight to a device */
    eq_outfile_temp_fn on_temp;
    void *user;
    int write_errno;         /* the first failed eq_outfile_write's */
};


static const char *why(int e) {
    return e == ENOSPC ? "disk full" : strerror(e);
}

/* The target's folder as a prefix for names in it ("" or "dir/") and its file name. */
static int split_path(const char *path, char **prefix, const char **base) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    *prefix = malloc(n + 1);
    if (!*prefix) return -1;
    memcpy(*prefix, path, n);
    (*prefix)[n] = 0;
    *base = path + n;
    return 0;
}

/* ".<base>.edgeq-<host>-": what every temporary of this target made on this host starts with */
static char *temp_prefix(const char *base) {
    uint32_t h = 2166136261u;  /* FNV-1a of the host name: temporaries of another host are not ours to judge */
#ifdef EQ_OUTFILE_PIDS
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = 0;
        for (const char *p = host; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    }
#endif
    size_t bl = strlen(base);
    if (bl > BASE_MAX) bl = BASE_MAX;
    char *s = malloc(bl + 32);
    if (!s) return NULL;
    s[0] = '.';
    memcpy(s + 1, base, bl);
    snprintf(s + 1 + bl, 31, "%s%08x-", TAG, (unsigned)h);
    return s;
}

static long my_pid(void) {
#ifdef EQ_OUTFILE_PIDS
    return (long)getpid();
#else
    return 0;
#endif
}

/* Unpredictable enough that nobody can plant the name first (O_EXCL makes planting harmless
 * anyway; this only avoids retries). */
static uint32_t random32(unsigned attempt) {
    return (uint32_t)eq_mix64(eq_entropy64() ^ ((uint64_t)my_pid() << 32) ^ attempt);
}

static int same_file(const struct stat *a, const char *path) {
    struct stat b;
    return path && stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

eq_status eq_outfile_check(const char *path, const eq_outfile_opts *o, char *err, size_t errlen) {
    if (!path || !*path) return eq_errf(err, errlen, EQ_ERR_ARG, "no output file given");
    size_t n = strlen(path);
    struct stat st;
    int exists = stat(path, &st) == 0;
    if ((exists && S_ISDIR(st.st_mode)) || path[n - 1] == '/')
        return eq_errf(err, errlen, EQ_ERR_ARG, "%s: is a directory (give an output file name)", path);
    if (!exists || !o) return EQ_OK;
    for (int i = 0; i < o->n_inputs; i++) {
        const char *in = o->inputs[i];
        if (!in || !same_file(&st, in)) continue;
        if (!strcmp(in, path)) return eq_errf(err, errlen, EQ_ERR_ARG, "%s: input and output are the same file", path);
        return eq_errf(err, errlen, EQ_ERR_ARG, "%s: is the input %s (the same file under another name); choose another output",
                    path, in);
    }
    return EQ_OK;
}

/* Remove this target's temporaries left by edgeq processes of this host that no longer run:
 * exactly "<prefix><pid>-<8 hex>.tmp", a regular file with one link, ours, not an input. */
static void remove_stale(const char *dir_prefix, const char *prefix, const eq_outfile_opts *o) {
#ifdef EQ_OUTFILE_PIDS
    DIR *d = opendir(*dir_prefix ? dir_prefix : ".");
    if (!d) return;
    const size_t pl = strlen(prefix), dl = strlen(dir_prefix);
    const long self = my_pid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, prefix, pl)) continue;
        const char *p = name + pl;
        long long pid = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++) pid = pid * 10 + (*p - '0');
        if (!digits || *p++ != '-') continue;
        int hex = 0;
        for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++) hex++;
        if (hex != 8 || strcmp(p, ".tmp")) continue;
        if (pid <= 1 || pid == self || (pid_t)pid != pid) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* alive, or not ours to ask */
        size_t nl = strlen(name);
        char *full = malloc(dl + nl + 1);
        if (!full) break;
        memcpy(full, dir_prefix, dl);
        memcpy(full + dl, name, nl + 1);
        struct stat st;
        int ok = lstat(full, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_uid == geteuid();
        for (int i = 0; ok && o && i < o->n_inputs; i++)
            if (same_file(&st, o->inputs[i])) ok = 0;
        if (ok) unlink(full);
        free(full);
    }
    closedir(d);
#else
    (void)dir_prefix; (void)prefix; (void)o;
#endif
}

eq_status eq_outfile_open(const char *path, const eq_outfile_opts *o, eq_outfile **out, char *err, size_t errlen) {
    *out = NULL;
    eq_status st = eq_outfile_check(path, o, err, errlen);
    if (st) return st;
    eq_outfile *f = calloc(1, sizeof *f);
    size_t n = strlen(path);
    if (f) f->path = malloc(n + 1);
    if (!f || !f->path) { free(f); return eq_errf(err, errlen, EQ_ERR_NOMEM, "out of memory"); }
    memcpy(f->path, path, n + 1);
    if (o) { f->on_temp = o->on_temp; f->user = o->user; }

    struct stat ts;
    if (stat(path, &ts) == 0 && !S_ISREG(ts.st_mode)) {
        /* a device or FIFO (/dev/null, /dev/stdout): nothing to replace, write to it */
        f->f = fopen(path, "wb");
        if (!f->f) {
            int e = errno;
            eq_outfile_abort(f);
            return eq_errf(err, errlen, EQ_ERR_IO, "%s: cannot open for writing (%s)", path, why(e));
        }
        *out = f;
        return EQ_OK;
    }

    char *dir = NULL, *prefix = NULL;
    const char *base;
    if (split_path(path, &dir, &base) || !(prefix = temp_prefix(base))) {
        free(dir);
        eq_outfile_abort(f);
        return eq_errf(err, errlen, EQ_ERR_NOMEM, "out of memory");
    }
    remove_stale(dir, prefix, o);
    size_t cap = strlen(dir) + strlen(prefix) + 32;
    f->tmp = malloc(cap);
    int fd = -1, e = 0;
    for (unsigned attempt = 0; f->tmp && attempt < 100 && fd < 0; attempt++) {
        snprintf(f->tmp, cap, "%s%s%ld-%08x.tmp", dir, prefix, my_pid(), (unsigned)random32(attempt));
        /* announced before it exists, so a signal at any moment after the open finds its name
         * (an unlink before the open removes nothing: the name is fresh and random) */
        if (f->on_temp) f->on_temp(f->user, f->tmp);
        fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        e = errno;
        if (fd < 0 && e != EEXIST) break;
    }
    free(dir);
    free(prefix);
    if (!f->tmp) { eq_outfile_abort(f); return eq_errf(err, errlen, EQ_ERR_NOMEM, "out of memory"); }
    if (fd < 0) {
        if (f->on_temp && f->tmp) f->on_temp(f->user, NULL);
        free(f->tmp);
        f->tmp = NULL;    /* nothing of ours to remove */
        eq_outfile_abort(f);
        return eq_errf(err, errlen, EQ_ERR_IO, "%s: cannot create a file in its folder (%s)", path, why(e));
    }
    f->f = fdopen(fd, "wb");
    if (!f->f) {
        e = errno;
        close(fd);
        eq_outfile_abort(f);
        return eq_errf(err, errlen, EQ_ERR_NOMEM, "%s: cannot open a stream (%s)", path, why(e));
    }
    *out = f;
    return EQ_OK;
}

FILE *eq_outfile_stream(eq_outfile *f) { return f ? f->f : NULL; }

int eq_outfile_write(eq_outfile *f, const void *data, size_t n) {
    errno = 0;
    if (!n || fwrite(data, 1, n, f->f) == n) return 0;
    if (!f->write_errno) f->write_errno = errno ? errno : EIO;
    return -1;
}
const char *eq_outfile_temp_path(const eq_outfile *f) { return f ? f->tmp : NULL; }

void eq_outfile_abort(eq_outfile *f) {
    if (!f) return;
    if (f->f) fclose(f->f);
    if (f->tmp) {
        unlink(f->tmp);
        if (f->on_temp) f->on_temp(f->user, NULL);
    }
    free(f->tmp);
    free(f->path);
    free(f);
}

eq_status eq_outfile_commit(eq_outfile *f, char *err, size_t errlen) {
    if (!f) return eq_errf(err, errlen, EQ_ERR_ARG, "no output file");
    int e = 0;
    errno = 0;
    if (fflush(f->f) != 0) e = f->write_errno ? f->write_errno : errno ? errno : EIO;
    else if (ferror(f->f)) e = f->write_errno ? f->write_errno : EIO;   /* an earlier fwrite failed */
    /* data on disk before the rename makes it visible: no empty file after a crash */
    if (!e && f->tmp && fsync(fileno(f->f)) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
        e = errno;
    FILE *s = f->f;
    f->f = NULL;
    if (fclose(s) != 0 && !e) e = errno ? errno : EIO;
    if (e) {
        const char *path = f->path;
        eq_status st = eq_errf(err, errlen, EQ_ERR_IO, "%s: write failed (%s)", path, why(e));
        eq_outfile_abort(f);
        return st;
    }
    if (f->tmp) {
        if (rename(f->tmp, f->path) != 0) {
            e = errno;
            eq_status st = eq_errf(err, errlen, EQ_ERR_IO, "%s: cannot replace it with the new file (%s)", f->path, why(e));
            eq_outfile_abort(f);
            return st;
        }
        if (f->on_temp) f->on_temp(f->user, NULL);
        free(f->tmp);
        f->tmp = NULL;
    }
    eq_outfile_abort(f);   /* nothing left to close or remove: frees */
    return EQ_OK;
}
