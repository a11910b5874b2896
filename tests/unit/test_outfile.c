/* runtime/outfile: exclusive temporaries, identity checks, commit and abort, stale clean-up,
 * devices and write errors. */
#define _POSIX_C_SOURCE 200809L
#include "eqtest.h"
#include "runtime/outfile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];

static const char *path(const char *name) {
    static char buf[64][512];   /* a ring: names stay valid for the next 63 calls */
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void put(const char *p, const char *text) {
    FILE *f = fopen(p, "wb");
    if (f) { fputs(text, f); fclose(f); }
}

/* the file's content ("" when absent; "<link>" for a symlink) */
static const char *get(const char *p) {
    static char buf[256];
    struct stat st;
    if (lstat(p, &st) != 0) return "";
    if (S_ISLNK(st.st_mode)) return "<link>";
    FILE *f = fopen(p, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}

static int n_entries(void) {   /* files in the test folder */
    int n = 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", g_dir);
    FILE *p = popen(cmd, "r");
    if (p) { if (fscanf(p, "%d", &n) != 1) n = -1; pclose(p); }
    return n;
}

static eq_status write_file(const char *out, const char *text, const eq_outfile_opts *o, char *err, size_t errlen) {
    eq_outfile *f = NULL;
    eq_status st = eq_outfile_open(out, o, &f, err, errlen);
    if (st) return st;
    eq_outfile_write(f, text, strlen(text));
    return eq_outfile_commit(f, err, errlen);
}

static char g_hook[512];
static int g_hook_calls;
static void hook(void *user, const char *p) {
    (void)user;
    g_hook_calls++;
    snprintf(g_hook, sizeof g_hook, "%s", p ? p : "(null)");
}

static void test_basic(void) {
    char err[512];
    const char *out = path("out.bin");
    eq_outfile_opts o = {NULL, 0, hook, NULL};
    eq_outfile *f = NULL;
    CHECK(eq_outfile_open(out, &o, &f, err, sizeof err) == EQ_OK);
    const char *tmp = eq_outfile_temp_path(f);
    /* the temporary: hidden, in the output's folder, named after it, and told to the hook */
    CHECK(tmp && !strncmp(tmp, path(".out.bin.edgeq-"), strlen(path(".out.bin.edgeq-"))));
    CHECK(tmp && strlen(tmp) > 4 && !strcmp(tmp + strlen(tmp) - 4, ".tmp"));
    CHECK(g_hook_calls == 1 && tmp && !strcmp(g_hook, tmp));
    char tmp_copy[512];
    snprintf(tmp_copy, sizeof tmp_copy, "%s", tmp ? tmp : "");
    CHECK(eq_outfile_write(f, "hello", 5) == 0);
    CHECK(!strcmp(get(out), ""));          /* nothing under the name before the commit */
    CHECK(eq_outfile_commit(f, err, sizeof err) == EQ_OK);
    CHECK(!strcmp(get(out), "hello"));
    CHECK(!strcmp(get(tmp_copy), "") && !strcmp(g_hook, "(null)") && g_hook_calls == 2);
    /* replace an existing file; abort leaves it as it was */
    CHECK(write_file(out, "again", NULL, err, sizeof err) == EQ_OK && !strcmp(get(out), "again"));
    CHECK(eq_outfile_open(out, &o, &f, err, sizeof err) == EQ_OK);
    eq_outfile_write(f, "half", 4);
    eq_outfile_abort(f);
    CHECK(!strcmp(get(out), "again") && n_entries() == 1 && !strcmp(g_hook, "(null)"));
    unlink(out);
}

static void test_no_following(void) {
    char err[512];
    const char *out = path("x.gguf"), *in = path("x.gguf.tmp"), *victim = path("victim.txt");
    /* an input named like the old temporary name is neither truncated nor removed */
    put(in, "model");
    const char *inputs[1] = {in};
    eq_outfile_opts o = {inputs, 1, NULL, NULL};
    CHECK(write_file(out, "quantized", &o, err, sizeof err) == EQ_OK);
    CHECK(!strcmp(get(in), "model") && !strcmp(get(out), "quantized"));
    unlink(in);
    unlink(out);
    /* a symlink planted at that name: not followed */
    put(victim, "precious");
    CHECK(symlink("victim.txt", in) == 0);
    CHECK(write_file(out, "data", NULL, err, sizeof err) == EQ_OK);
    CHECK(!strcmp(get(victim), "precious") && !strcmp(get(out), "data") && !strcmp(get(in), "<link>"));
    unlink(in);
    /* the target itself a symlink: the link is replaced by the new file, its target untouched */
    unlink(out);
    CHECK(symlink("victim.txt", out) == 0);
    CHECK(write_file(out, "data", NULL, err, sizeof err) == EQ_OK);
    struct stat st;
    CHECK(lstat(out, &st) == 0 && S_ISREG(st.st_mode) && !strcmp(get(out), "data"));
    CHECK(!strcmp(get(victim), "precious"));
    unlink(out);
    unlink(victim);
}

static void test_identity(void) {
    char err[512];
    const char *in = path("a.gguf");
    put(in, "model");
    const char *inputs[2] = {NULL, in};
    eq_outfile_opts o = {inputs, 2, NULL, NULL};
    char other[600];
    snprintf(other, sizeof other, "%s/./a.gguf", g_dir);   /* the same file, spelled otherwise */
    CHECK(eq_outfile_check(other, &o, err, sizeof err) == EQ_ERR_ARG && strstr(err, "same file"));
    eq_outfile *f = (eq_outfile *)1;
    CHECK(eq_outfile_open(other, &o, &f, err, sizeof err) == EQ_ERR_ARG && f == NULL);
    CHECK(eq_outfile_check(in, &o, err, sizeof err) == EQ_ERR_ARG && strstr(err, "same file"));
    CHECK(symlink("a.gguf", path("link.gguf")) == 0);
    CHECK(eq_outfile_check(path("link.gguf"), &o, err, sizeof err) == EQ_ERR_ARG);
    CHECK(link(in, path("hard.gguf")) == 0);
    CHECK(eq_outfile_check(path("hard.gguf"), &o, err, sizeof err) == EQ_ERR_ARG);
    CHECK(!strcmp(get(in), "model") && n_entries() == 3);
    CHECK(eq_outfile_check(path("b.gguf"), &o, err, sizeof err) == EQ_OK);
    /* a directory, empty or not, is never an output (nor a name ending in '/') */
    CHECK(mkdir(path("dir"), 0755) == 0);
    CHECK(eq_outfile_open(path("dir"), NULL, &f, err, sizeof err) == EQ_ERR_ARG && strstr(err, "directory"));
    CHECK(eq_outfile_check(path("new/"), NULL, err, sizeof err) == EQ_ERR_ARG);
    struct stat st;
    CHECK(stat(path("dir"), &st) == 0 && S_ISDIR(st.st_mode) && n_entries() == 4);
    CHECK(eq_outfile_check("", NULL, err, sizeof err) == EQ_ERR_ARG);
    rmdir(path("dir"));
    unlink(path("link.gguf"));
    unlink(path("hard.gguf"));
    unlink(in);
}

static void test_stale(void) {
    char err[512];
    const char *out = path("m.gguf");
    /* learn this host's prefix from a real temporary */
    eq_outfile *f = NULL;
    CHECK(eq_outfile_open(out, NULL, &f, err, sizeof err) == EQ_OK);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s", eq_outfile_temp_path(f));
    eq_outfile_abort(f);
    char *dash = strrchr(prefix, '-');   /* ...-<host>-<pid>-<rand>.tmp */
    if (dash) *dash = 0;
    dash = strrchr(prefix, '-');
    if (dash) dash[1] = 0;
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);   /* a pid that no longer runs */
    char dead[600], alive[600], odd[600], lnk[600], input[600], other_host[600];
    snprintf(dead, sizeof dead, "%s%ld-0123abcd.tmp", prefix, (long)child);
    snprintf(alive, sizeof alive, "%s%ld-0123abcd.tmp", prefix, (long)getppid());
    snprintf(odd, sizeof odd, "%s%ld-0123abcd.tmp.keep", prefix, (long)child);
    snprintf(lnk, sizeof lnk, "%s%ld-aaaabbbb.tmp", prefix, (long)child);
    snprintf(input, sizeof input, "%s%ld-ccccdddd.tmp", prefix, (long)child);
    snprintf(other_host, sizeof other_host, "%s", path(".m.gguf.edgeq-00000000-1234567-0123abcd.tmp"));
    put(dead, "stale");
    put(alive, "in use");
    put(odd, "user file");
    put(input, "an input");
    put(other_host, "another host's");
    CHECK(symlink("m.gguf", lnk) == 0);
    const char *inputs[1] = {input};
    eq_outfile_opts o = {inputs, 1, NULL, NULL};
    CHECK(write_file(out, "new", &o, err, sizeof err) == EQ_OK);
    CHECK(!strcmp(get(dead), ""));                    /* removed: ours, and its maker is gone */
    CHECK(!strcmp(get(alive), "in use"));             /* its maker still runs */
    CHECK(!strcmp(get(odd), "user file"));            /* not exactly our pattern */
    CHECK(!strcmp(get(lnk), "<link>"));               /* not a regular file */
    CHECK(!strcmp(get(input), "an input"));           /* one of the inputs */
    if (strcmp(other_host, dead)) CHECK(!strcmp(get(other_host), "another host's"));
    CHECK(!strcmp(get(out), "new"));
    unlink(alive); unlink(odd); unlink(lnk); unlink(input); unlink(other_host); unlink(out);
    CHECK(n_entries() == 0);
}

static void test_devices_and_errors(void) {
    char err[512];
    /* a device is written directly, and stays a device */
    CHECK(write_file("/dev/null", "x", NULL, err, sizeof err) == EQ_OK);
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    /* a full disk: the commit fails and says so */
    if (stat("/dev/full", &st) == 0) {
        eq_outfile *f = NULL;
        CHECK(eq_outfile_open("/dev/full", NULL, &f, err, sizeof err) == EQ_OK);
        if (f) {
            char big[1 << 16];
            memset(big, 1, sizeof big);
            eq_outfile_write(f, big, sizeof big);
            CHECK(eq_outfile_commit(f, err, sizeof err) == EQ_ERR_IO && strstr(err, "disk full"));
        }
    }
    /* a folder that does not exist */
    eq_outfile *f = NULL;
    CHECK(eq_outfile_open(path("nope/x.bin"), NULL, &f, err, sizeof err) == EQ_ERR_IO && strstr(err, "nope/x.bin") && !f);
    CHECK(n_entries() == 0);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/eq_test_outfile_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 1; }
    test_basic();
    test_no_following();
    test_identity();
    test_stale();
    test_devices_and_errors();
    rmdir(g_dir);
    return eqt_done();
}
