/* The streamed-upload hook (eq_loader_set_upload): a model fed in odd-sized chunks, parts
 * interleaved, announces each tensor exactly once, in the feed call that delivers its last
 * byte, with its bytes in place; a failing hook fails the load and names the tensor. Streamed
 * without a host copy (eq_loader_set_stream), the same, every tensor of a part in one reused
 * block, and no tensor keeps host bytes. */
#include "eqtest.h"
#include "membuf.h"
#include "models/model.h"
#include "gguf/writer.h"
#include "quant/quant.h"

#include <stdint.h>
#include <string.h>

#define N_PARTS 2
#define MAX_T 16


static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint8_t next_byte(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

/* One part: tensors of uneven sizes (one larger than the reader's 64 KiB header window, some
 * smaller than a chunk, several padded), random bytes. */
static int make_part(int no, membuf *out) {
    static const int64_t shapes[][2] = {{1, 1}, {7, 1}, {300, 1}, {64, 5}, {20000, 1}, {4099, 1}, {2, 3}, {33, 1},
                                        {1000, 1}, {5, 1}, {3000, 2}, {129, 1}};
    static const int types[] = {EQ_TYPE_F32, EQ_TYPE_F32, EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_F32, EQ_TYPE_F32,
                                EQ_TYPE_F16, EQ_TYPE_F32, EQ_TYPE_F32, EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_F32};
    const int nt = no == 0 ? 12 : 7;
    eq_gguf_writer *w = eq_gguf_writer_new();
    int ok = w && !eq_gguf_writer_set_str(w, "general.architecture", "llama")
             && !eq_gguf_writer_set_u16(w, "split.no", (uint16_t)no)
             && !eq_gguf_writer_set_u16(w, "split.count", N_PARTS);
    for (int i = 0; i < nt && ok; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d.t%d", no, i);
        int k = (i + 3 * no) % 12;
        ok = !eq_gguf_writer_add_tensor(w, name, types[k], shapes[k][1] > 1 ? 2 : 1, shapes[k]);
    }
    ok = ok && !eq_gguf_writer_open_sink(w, "part", mem_sink, out);
    for (int i = 0; i < nt && ok; i++) {
        uint64_t n = eq_gguf_writer_tensor_size(w, i);
        uint8_t *b = malloc(n);
        if (!b) { ok = 0; break; }
        for (uint64_t j = 0; j < n; j++) b[j] = next_byte();
        ok = !eq_gguf_writer_write(w, b, n);
        free(b);
    }
    ok = ok && !eq_gguf_writer_finish(w);
    eq_gguf_writer_free(w);
    return ok;
}

typedef struct {
    const membuf *file;       /* per part */
    eq_gguf *layout[N_PARTS]; /* each part parsed whole: the expected offsets */
    uint64_t before[N_PARTS], after[N_PARTS];   /* bytes fed before / after the current call */
    int feed_no, header_call[N_PARTS];          /* the current call; a part's first announcing one */
    int count[N_PARTS][MAX_T];
    int bad_order, bad_bytes, bad_when, unknown;
    int fail_at;              /* announcement number that fails (-1: none) */
    const void *block[N_PARTS];   /* streamed: the part's staging block */
    int stream, bad_block;
    const eq_gguf_tensor *seen[N_PARTS][MAX_T];   /* the loader's tensors, as announced */
    int n_calls;
} watch;

static eq_status on_upload(void *user, int part, eq_gguf_tensor *t, char *err, size_t errlen) {
    watch *w = user;
    if (w->n_calls++ == w->fail_at) {
        snprintf(err, errlen, "device out of memory");
        return EQ_ERR_NOMEM;
    }
    if (part < 0 || part >= N_PARTS) { w->unknown++; return EQ_OK; }
    const eq_gguf *g = w->layout[part];
    int i = eq_gguf_find_tensor(g, t->name);
    if (i < 0 || i >= MAX_T) { w->unknown++; return EQ_OK; }
    const uint64_t at = g->data_offset + g->tensors[i].offset, end = at + g->tensors[i].nbytes;
    w->count[part][i]++;
    w->seen[part][i] = t;
    if (w->stream) {   /* one block per part, reused tensor after tensor */
        if (!w->block[part]) w->block[part] = t->data;
        if (t->data != w->block[part]) w->bad_block++;
    }
    /* announced in the call that brought its last byte, or (bytes that came with the header,
     * which the reader buffers until it parses) in the call that completed the header */
    if (!w->header_call[part]) w->header_call[part] = w->feed_no;
    if (end > w->after[part] || (end <= w->before[part] && w->feed_no != w->header_call[part])) w->bad_when++;
    if (t->nbytes != g->tensors[i].nbytes || memcmp(t->data, w->file[part].p + at, (size_t)t->nbytes)) w->bad_bytes++;
    /* in file order within a part: every tensor that ends before it was announced already */
    for (uint64_t j = 0; j < g->n_tensors; j++)
        if (g->data_offset + g->tensors[j].offset + g->tensors[j].nbytes < end && !w->count[part][j]) w->bad_order++;
    return EQ_OK;
}

static const size_t chunks[] = {1, 3, 17, 5000, 64, 100003, 7, 33333, 2, 250, 4096, 9, 70001};
#define N_CHUNKS (sizeof chunks / sizeof *chunks)

/* Feed both parts, alternating chunk by chunk; part 0 with its size declared, part 1 without.
 * cut: also end calls one byte before and right at each tensor's end (a tensor split by its
 * last byte). Returns the first failing status. */
static eq_status feed_all(eq_loader *l, watch *w, const membuf *files, size_t first_chunk, int cut) {
    size_t pos[N_PARTS] = {0}, k = first_chunk;
    eq_loader_set_part_size(l, 0, files[0].n);
    for (int busy = 1; busy;) {
        busy = 0;
        for (int p = 0; p < N_PARTS; p++) {
            if (pos[p] >= files[p].n) continue;
            busy = 1;
            size_t n = chunks[k++ % N_CHUNKS];
            if (n > files[p].n - pos[p]) n = files[p].n - pos[p];
            for (uint64_t i = 0; cut && i < w->layout[p]->n_tensors; i++) {
                const eq_gguf *g = w->layout[p];
                uint64_t end = g->data_offset + g->tensors[i].offset + g->tensors[i].nbytes;
                if (end - 1 > pos[p] && end - 1 < pos[p] + n) n = (size_t)(end - 1 - pos[p]);
                if (end > pos[p] && end < pos[p] + n) n = (size_t)(end - pos[p]);
            }
            w->before[p] = pos[p];
            w->after[p] = pos[p] + n;
            w->feed_no++;
            eq_status st = eq_loader_feed(l, p, files[p].p + pos[p], n);
            if (st) return st;
            pos[p] += n;
        }
    }
    return EQ_OK;
}

static void parse_layout(watch *w, const membuf *files) {
    for (int p = 0; p < N_PARTS; p++) {
        w->layout[p] = eq_gguf_new(files[p].n, NULL, NULL);
        CHECK(w->layout[p] && !eq_gguf_feed(w->layout[p], files[p].p, files[p].n) && !eq_gguf_finish(w->layout[p]));
    }
}

static void free_layout(watch *w) {
    for (int p = 0; p < N_PARTS; p++) eq_gguf_free(w->layout[p]);
}

int main(void) {
    membuf files[N_PARTS] = {{0}};
    for (int p = 0; p < N_PARTS; p++) CHECK(make_part(p, &files[p]));

    for (size_t start = 0; start < 4 * N_CHUNKS; start += 3) {   /* a few chunkings, kept and streamed */
        const int stream = start >= 2 * N_CHUNKS;
        watch w = {.file = files, .fail_at = -1, .stream = stream};
        parse_layout(&w, files);
        eq_loader *l = NULL;
        CHECK(!eq_loader_new(NULL, N_PARTS, &l, NULL, 0));
        eq_loader_set_upload(l, on_upload, &w);
        eq_loader_set_stream(l, stream);
        CHECKF(!feed_all(l, &w, files, start % N_CHUNKS, start % (2 * N_CHUNKS) >= N_CHUNKS), "%s", eq_loader_errmsg(l));
        int once = 1;
        for (int p = 0; p < N_PARTS; p++)
            for (uint64_t i = 0; i < w.layout[p]->n_tensors; i++)
                if (w.count[p][i] != 1) { once = 0; fprintf(stderr, "part %d tensor %llu: announced %d times\n", p, (unsigned long long)i, w.count[p][i]); }
        CHECKF(once && w.n_calls == 19, "%d announcements", w.n_calls);
        CHECKF(!w.bad_when && !w.bad_bytes && !w.bad_order && !w.unknown && !w.bad_block, "start %zu: %d early or late, "
               "%d with wrong bytes, %d out of order, %d unknown, %d outside the block", start, w.bad_when, w.bad_bytes,
               w.bad_order, w.unknown, w.bad_block);
        int kept = 0;   /* streamed, the bytes are gone: no tensor points at host memory */
        for (int p = 0; p < N_PARTS; p++)
            for (int i = 0; i < MAX_T; i++) kept += w.seen[p][i] && w.seen[p][i]->data;
        CHECKF(kept == (stream ? 0 : 19), "%d tensors keep host bytes", kept);
        eq_loader_free(l);
        free_layout(&w);
    }

    {   /* the whole of each part in one call: every tensor of it in that call */
        watch w = {.file = files, .fail_at = -1};
        parse_layout(&w, files);
        eq_loader *l = NULL;
        CHECK(!eq_loader_new(NULL, N_PARTS, &l, NULL, 0));
        eq_loader_set_upload(l, on_upload, &w);
        for (int p = 0; p < N_PARTS; p++) {
            w.before[p] = 0;
            w.after[p] = files[p].n;
            w.feed_no++;
            CHECK(!eq_loader_feed(l, p, files[p].p, files[p].n));
            CHECKF(w.n_calls == (p == 0 ? 12 : 19), "part %d: %d announcements", p, w.n_calls);
        }
        CHECK(!w.bad_when && !w.bad_bytes && !w.bad_order && !w.unknown);
        eq_loader_free(l);
        free_layout(&w);
    }

    {   /* a failing hook fails the load, names the tensor, and stays failed */
        watch w = {.file = files, .fail_at = 2};
        parse_layout(&w, files);
        eq_loader *l = NULL;
        CHECK(!eq_loader_new(NULL, N_PARTS, &l, NULL, 0));
        eq_loader_set_upload(l, on_upload, &w);
        eq_status st = feed_all(l, &w, files, 0, 1);
        CHECKF(st == EQ_ERR_NOMEM && strstr(eq_loader_errmsg(l), "device out of memory") &&
               strstr(eq_loader_errmsg(l), "tensor 'p"), "%d: %s", st, eq_loader_errmsg(l));
        CHECK(eq_loader_feed(l, 0, files[0].p, 1) == EQ_ERR_NOMEM && w.n_calls == 3);
        eq_loader_free(l);
        free_layout(&w);
    }

    {   /* vocab only: no tensor memory, nothing to announce */
        watch w = {.file = files, .fail_at = -1};
        parse_layout(&w, files);
        eq_model_params mp = eq_model_default_params();
        mp.vocab_only = 1;
        eq_loader *l = NULL;
        CHECK(!eq_loader_new(&mp, N_PARTS, &l, NULL, 0));
        eq_loader_set_upload(l, on_upload, &w);
        CHECK(!feed_all(l, &w, files, 1, 0) && w.n_calls == 0);
        eq_loader_free(l);
        free_layout(&w);
    }
    for (int p = 0; p < N_PARTS; p++) free(files[p].p);
    return eqt_done();
}
