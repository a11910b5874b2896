/* Quantization pipeline: the GGUF writer (round trip through the reader, key order, layout,
 * temporary-file cleanup), llama-quantize's per-tensor type rules on synthetic tensor
 * lists, eq_quantize_rows' contract, and eq_quantize_model end to end on tiny files. */
#define _POSIX_C_SOURCE 200809L   /* opendir: looking for temporary files */
#include "eqtest.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "edgeq_quantize.h"
#include "quant/quant.h"
#include "quant/quantize.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char g_tmp[256];
static const char *tmp_path(const char *name) {
    const char *dir = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/eq_test_quantize_%s", dir && *dir ? dir : "/tmp", name);
    return g_tmp;
}

static int file_exists(const char *p) {
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Is a temporary file of out (".<name>.edgeq-*.tmp" in its folder, runtime/outfile.h) there? */
static int temp_exists(const char *out) {
    const char *slash = strrchr(out, '/');
    char dir[256], prefix[300];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) : 1, slash ? out : ".");
    snprintf(prefix, sizeof prefix, ".%s.edgeq-", slash ? slash + 1 : out);
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (!strncmp(e->d_name, prefix, strlen(prefix))) found = 1;
    if (d) closedir(d);
    return found;
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* on_header: give every tensor a buffer (freed by free_data) */
static eq_status alloc_all(eq_gguf *g, void *user) {
    (void)user;
    for (uint64_t i = 0; i < g->n_tensors; i++) g->tensors[i].data = calloc(1, (size_t)g->tensors[i].nbytes);
    return EQ_OK;
}
static void free_data(eq_gguf *g) {
    for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].data);
}

/* ---- writer ---- */

static void test_writer_roundtrip(void) {
    char out[256];
    snprintf(out, sizeof out, "%s", tmp_path("rt.gguf"));
    eq_gguf_writer *w = eq_gguf_writer_new();
    CHECK(w != NULL);
    CHECK(!eq_gguf_writer_set_str(w, "general.architecture", "llama"));
    CHECK(!eq_gguf_writer_set_u8(w, "k.u8", 200));
    CHECK(!eq_gguf_writer_set_i8(w, "k.i8", -5));
    CHECK(!eq_gguf_writer_set_u16(w, "k.u16", 60000));
    CHECK(!eq_gguf_writer_set_i16(w, "k.i16", -300));
    CHECK(!eq_gguf_writer_set_u32(w, "k.u32", 4000000000u));
    CHECK(!eq_gguf_writer_set_i32(w, "k.i32", -70000));
    CHECK(!eq_gguf_writer_set_u64(w, "k.u64", 1ull << 40));
    CHECK(!eq_gguf_writer_set_i64(w, "k.i64", -(1ll << 40)));
    CHECK(!eq_gguf_writer_set_f32(w, "k.f32", 1.5f));
    CHECK(!eq_gguf_writer_set_f64(w, "k.f64", -2.25));
    CHECK(!eq_gguf_writer_set_bool(w, "k.bool", 7));
    CHECK(!eq_gguf_writer_set_strn(w, "k.bin", "a\0b", 3));
    const int32_t ai[3] = {1, -2, 3};
    CHECK(!eq_gguf_writer_set_arr(w, "k.arr", EQ_GGUF_I32, ai, 3));
    const char *strs[2] = {"hello", ""};
    CHECK(!eq_gguf_writer_set_arr_str(w, "k.strs", strs, NULL, 2));
    /* setting an existing key moves it to the end with the new value (gguf_set_val_*) */
    CHECK(!eq_gguf_writer_set_u32(w, "k.u8", 9));
    CHECK(eq_gguf_writer_remove(w, "k.i16") == 1);
    CHECK(eq_gguf_writer_remove(w, "absent") == 0);
    CHECK(eq_gguf_writer_n_kv(w) == 14);

    const int64_t ne_a[2] = {4, 3}, ne_b[3] = {64, 1, 1}, ne_c[2] = {256, 2};
    CHECK(!eq_gguf_writer_add_tensor(w, "a", EQ_TYPE_F32, 2, ne_a));
    CHECK(!eq_gguf_writer_add_tensor(w, "b", EQ_TYPE_Q8_0, 3, ne_b));  /* written as 1-D */
    CHECK(!eq_gguf_writer_add_tensor(w, "c", EQ_TYPE_Q4_K, 2, ne_c));
    CHECK(eq_gguf_writer_add_tensor(w, "a", EQ_TYPE_F32, 2, ne_a) != EQ_OK);  /* duplicate: error, and sticky */
    CHECK(strstr(eq_gguf_writer_errmsg(w), "duplicate") != NULL);
    eq_gguf_writer_free(w);

    /* again, cleanly, and write it */
    w = eq_gguf_writer_new();
    eq_gguf *src = NULL;
    CHECK(!eq_gguf_writer_set_str(w, "general.architecture", "llama"));
    CHECK(!eq_gguf_writer_set_u32(w, "general.alignment", 64));
    CHECK(!eq_gguf_writer_set_f32(w, "k.f32", 1.5f));
    CHECK(!eq_gguf_writer_set_bool(w, "k.bool", 7));
    CHECK(!eq_gguf_writer_set_strn(w, "k.bin", "a\0b", 3));
    CHECK(!eq_gguf_writer_set_arr(w, "k.arr", EQ_GGUF_I32, ai, 3));
    CHECK(!eq_gguf_writer_set_arr_str(w, "k.strs", strs, NULL, 2));
    CHECK(!eq_gguf_writer_set_u32(w, "k.u32", 5));
    CHECK(!eq_gguf_writer_add_tensor(w, "a", EQ_TYPE_F32, 2, ne_a));
    CHECK(!eq_gguf_writer_add_tensor(w, "b", EQ_TYPE_Q8_0, 3, ne_b));
    CHECK(!eq_gguf_writer_add_tensor(w, "c", EQ_TYPE_Q4_K, 2, ne_c));
    CHECK(eq_gguf_writer_tensor_size(w, 2) == 2 * 144);
    CHECK(!eq_gguf_writer_open(w, out));
    CHECK(eq_gguf_writer_set_u32(w, "late", 1) != EQ_OK);  /* no metadata after open */
    w = (eq_gguf_writer_free(w), eq_gguf_writer_new());  /* that error is sticky: start over */
    CHECK(!file_exists(out));

    CHECK(!eq_gguf_writer_set_str(w, "general.architecture", "llama"));
    CHECK(!eq_gguf_writer_set_u32(w, "general.alignment", 64));
    CHECK(!eq_gguf_writer_set_f32(w, "k.f32", 1.5f));
    CHECK(!eq_gguf_writer_set_bool(w, "k.bool", 7));
    CHECK(!eq_gguf_writer_set_strn(w, "k.bin", "a\0b", 3));
    CHECK(!eq_gguf_writer_set_arr(w, "k.arr", EQ_GGUF_I32, ai, 3));
    CHECK(!eq_gguf_writer_set_arr_str(w, "k.strs", strs, NULL, 2));
    CHECK(!eq_gguf_writer_add_tensor(w, "a", EQ_TYPE_F32, 2, ne_a));
    CHECK(!eq_gguf_writer_add_tensor(w, "b", EQ_TYPE_Q8_0, 3, ne_b));
    CHECK(!eq_gguf_writer_add_tensor(w, "c", EQ_TYPE_Q4_K, 2, ne_c));
    CHECK(!eq_gguf_writer_open(w, out));
    uint8_t data[48 + 68 + 288];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 1);
    /* uneven chunks across tensor boundaries */
    CHECK(!eq_gguf_writer_write(w, data, 5));
    CHECK(!eq_gguf_writer_write(w, data + 5, 100));
    CHECK(!eq_gguf_writer_write(w, data + 105, sizeof data - 105));
    CHECK(!eq_gguf_writer_finish(w));
    eq_gguf_writer_free(w);
    CHECK(file_exists(out));
    CHECK(!temp_exists(out));

    char err[256];
    CHECK(!eq_gguf_read_file(out, alloc_all, NULL, &src, err, sizeof err));
    if (!src) { fprintf(stderr, "%s\n", err); return; }
    CHECK(src->version == 3);
    CHECK(src->alignment == 64);
    CHECK(src->data_offset % 64 == 0);
    CHECK(src->n_kv == 7 && src->n_tensors == 3);
    CHECK(!strcmp(src->kv[0].key, "general.architecture"));
    double f;
    CHECK(eq_gguf_get_f64(src, "k.f32", &f) && f == 1.5);
    int b;
    CHECK(eq_gguf_get_bool(src, "k.bool", &b) && b == 1);
    const eq_gguf_kv *kb = eq_gguf_get(src, "k.bin");
    CHECK(kb && kb->str_len == 3 && !memcmp(kb->str, "a\0b", 3));
    int64_t v;
    CHECK(eq_gguf_arr_i64(eq_gguf_get(src, "k.arr"), 1, &v) && v == -2);
    const eq_gguf_kv *ks = eq_gguf_get(src, "k.strs");
    CHECK(ks && ks->n == 2 && !strcmp(ks->arr_str[0], "hello") && ks->arr_str_len[1] == 0);
    CHECK(src->tensors[1].n_dims == 1 && src->tensors[1].ne[0] == 64);
    CHECK(src->tensors[0].offset == 0 && src->tensors[1].offset == 64 && src->tensors[2].offset == 192);
    CHECK(!memcmp(src->tensors[0].data, data, 48));
    CHECK(!memcmp(src->tensors[1].data, data + 48, 68));
    CHECK(!memcmp(src->tensors[2].data, data + 116, 288));
    CHECK((long)(src->data_offset + 192 + 320) == file_size(out));  /* last tensor padded too */

    /* copying every key of a reader reproduces the metadata exactly */
    w = eq_gguf_writer_new();
    CHECK(!eq_gguf_writer_copy_kvs(w, src));
    for (uint64_t i = 0; i < src->n_tensors; i++)
        CHECK(!eq_gguf_writer_add_tensor(w, src->tensors[i].name, src->tensors[i].type, src->tensors[i].n_dims, src->tensors[i].ne));
    char out2[256];
    snprintf(out2, sizeof out2, "%s", tmp_path("rt2.gguf"));
    CHECK(!eq_gguf_writer_open(w, out2));
    for (uint64_t i = 0; i < src->n_tensors; i++) CHECK(!eq_gguf_writer_write(w, src->tensors[i].data, (size_t)src->tensors[i].nbytes));
    CHECK(!eq_gguf_writer_finish(w));
    eq_gguf_writer_free(w);
    FILE *fa = fopen(out, "rb"), *fb = fopen(out2, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    CHECK(same);
    free_data(src);
    eq_gguf_free(src);
    remove(out);
    remove(out2);
}

static void test_writer_cleanup(void) {
    char out[256];
    snprintf(out, sizeof out, "%s", tmp_path("cleanup.gguf"));
    const int64_t ne[2] = {32, 4};

    /* abandoned half-way: neither the target nor the temporary file remains */
    remove(out);
    eq_gguf_writer *w = eq_gguf_writer_new();
    CHECK(!eq_gguf_writer_add_tensor(w, "t", EQ_TYPE_F32, 2, ne));
    CHECK(!eq_gguf_writer_open(w, out));
    CHECK(eq_gguf_writer_temp_path(w) && file_exists(eq_gguf_writer_temp_path(w)) && !file_exists(out));
    uint8_t z[100] = {0};
    CHECK(!eq_gguf_writer_write(w, z, sizeof z));
    eq_gguf_writer_free(w);
    CHECK(!temp_exists(out) && !file_exists(out));

    /* finish with data missing: an error naming the tensor, nothing left behind, and an
     * existing file of that name is untouched */
    FILE *f = fopen(out, "wb");
    fputs("old", f);
    fclose(f);
    w = eq_gguf_writer_new();
    CHECK(!eq_gguf_writer_add_tensor(w, "t", EQ_TYPE_F32, 2, ne));
    CHECK(!eq_gguf_writer_open(w, out));
    CHECK(!eq_gguf_writer_write(w, z, sizeof z));
    CHECK(eq_gguf_writer_finish(w) != EQ_OK);
    CHECK(strstr(eq_gguf_writer_errmsg(w), "'t'") != NULL);
    eq_gguf_writer_free(w);
    CHECK(!temp_exists(out) && file_size(out) == 3);

    /* too much data */
    w = eq_gguf_writer_new();
    CHECK(!eq_gguf_writer_add_tensor(w, "t", EQ_TYPE_F32, 2, ne));
    CHECK(!eq_gguf_writer_open(w, out));
    uint8_t big[600] = {0};
    CHECK(eq_gguf_writer_write(w, big, sizeof big) != EQ_OK);
    eq_gguf_writer_free(w);
    CHECK(!temp_exists(out) && file_size(out) == 3);

    /* bad tensors and alignment are refused up front */
    w = eq_gguf_writer_new();
    const int64_t odd[2] = {33, 1};
    CHECK(eq_gguf_writer_add_tensor(w, "q", EQ_TYPE_Q4_0, 2, odd) != EQ_OK);
    eq_gguf_writer_free(w);
    w = eq_gguf_writer_new();
    CHECK(!eq_gguf_writer_set_u32(w, "general.alignment", 48));
    CHECK(eq_gguf_writer_open(w, out) != EQ_OK);
    eq_gguf_writer_free(w);
    CHECK(!temp_exists(out) && file_size(out) == 3);

    /* a directory that does not exist */
    w = eq_gguf_writer_new();
    CHECK(eq_gguf_writer_open(w, "/nonexistent-dir-eq/x.gguf") == EQ_ERR_IO);
    CHECK(strstr(eq_gguf_writer_errmsg(w), "nonexistent-dir-eq") != NULL);
    eq_gguf_writer_free(w);
    remove(out);
}

/* ---- type rules ---- */

typedef struct { eq_qplan_tensor t[64]; int n; } tlist;

static void add(tlist *l, const char *name, int64_t ne0, int64_t ne1, int type) {
    eq_qplan_tensor *t = &l->t[l->n++];
    t->name = name;
    t->ne[0] = ne0; t->ne[1] = ne1; t->ne[2] = 1; t->ne[3] = 1;
    t->type = type;
}

static char g_names[64][48];

/* an 8-layer llama in llama's order; ne0 = n_embd, kv rows = n_embd / n_gqa */
static void llama_list(tlist *l, int n_layer, int64_t n_embd, int tied, int phi3) {
    l->n = 0;
    int k = 0;
    if (!tied) add(l, "output.weight", n_embd, 1000, EQ_TYPE_F16);
    add(l, "output_norm.weight", n_embd, 1, EQ_TYPE_F32);
    add(l, "token_embd.weight", n_embd, 1000, EQ_TYPE_F16);
    for (int i = 0; i < n_layer; i++) {
        static const char *const llama_t[] = {"attn_k", "attn_norm", "attn_output", "attn_q", "attn_v", "ffn_down", "ffn_gate", "ffn_norm", "ffn_up"};
        static const char *const phi3_t[] = {"attn_norm", "attn_output", "attn_qkv", "ffn_down", "ffn_norm", "ffn_up"};
        const char *const *tt = phi3 ? phi3_t : llama_t;
        int nt = phi3 ? 6 : 9;
        for (int j = 0; j < nt; j++) {
            snprintf(g_names[k], sizeof g_names[k], "blk.%d.%s.weight", i, tt[j]);
            int is_norm = strstr(tt[j], "norm") != NULL;
            int64_t ne0 = !strcmp(tt[j], "ffn_down") ? 2 * n_embd : n_embd;
            add(l, g_names[k], ne0, is_norm ? 1 : n_embd, is_norm ? EQ_TYPE_F32 : EQ_TYPE_F16);
            k++;
        }
    }
}

static int type_of(const tlist *l, const int *types, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->t[i].name, name)) return types[i];
    return -2;
}

static eq_qplan_params params(int ftype, int n_layer) {
    eq_qplan_params p;
    memset(&p, 0, sizeof p);
    p.ftype = ftype;
    p.output_type = p.token_embd_type = -1;
    p.arch = "llama";
    p.n_layer = n_layer;
    p.n_head = 8;
    p.n_head_kv = 4;
    return p;
}

static void test_rules(void) {
    tlist l;
    int types[64];
    char err[256];
    char nm[48];

    /* Q4_K_M: attn_v and ffn_down get Q6_K in the use_more_bits layers of 8 (0, 3, 6, 7) */
    llama_list(&l, 8, 256, 0, 1); /* phi3's 6 tensors a layer: 8 layers fit the list */
    eq_qplan_params p = params(EQ_FTYPE_MOSTLY_Q4_K_M, 8);
    p.arch = "phi3";
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "output.weight") == EQ_TYPE_Q6_K);
    CHECK(type_of(&l, types, "token_embd.weight") == EQ_TYPE_Q4_K);
    CHECK(type_of(&l, types, "output_norm.weight") == EQ_TYPE_F32);
    for (int i = 0; i < 8; i++) {
        int more = i == 0 || i == 3 || i == 6 || i == 7;
        snprintf(nm, sizeof nm, "blk.%d.attn_qkv.weight", i);
        CHECKF(type_of(&l, types, nm) == (more ? EQ_TYPE_Q6_K : EQ_TYPE_Q4_K), "%s", nm);  /* fused qkv counts as attn_v */
        snprintf(nm, sizeof nm, "blk.%d.ffn_down.weight", i);
        CHECKF(type_of(&l, types, nm) == (more ? EQ_TYPE_Q6_K : EQ_TYPE_Q4_K), "%s", nm);
        snprintf(nm, sizeof nm, "blk.%d.ffn_up.weight", i);
        CHECK(type_of(&l, types, nm) == EQ_TYPE_Q4_K);
        snprintf(nm, sizeof nm, "blk.%d.attn_norm.weight", i);
        CHECK(type_of(&l, types, nm) == EQ_TYPE_F32);
    }

    /* tied embeddings: token_embd is quantized like output.weight */
    llama_list(&l, 3, 256, 1, 0);
    p = params(EQ_FTYPE_MOSTLY_Q4_K_M, 3);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "token_embd.weight") == EQ_TYPE_Q6_K);

    /* Q2_K: attn_v Q3_K unless n_gqa >= 4 (then Q4_K); ffn_down and attn_output Q3_K */
    llama_list(&l, 3, 256, 0, 0);
    p = params(EQ_FTYPE_MOSTLY_Q2_K, 3);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.1.attn_v.weight") == EQ_TYPE_Q3_K);
    CHECK(type_of(&l, types, "blk.1.ffn_down.weight") == EQ_TYPE_Q3_K);
    CHECK(type_of(&l, types, "blk.1.attn_output.weight") == EQ_TYPE_Q3_K);
    CHECK(type_of(&l, types, "blk.1.attn_q.weight") == EQ_TYPE_Q2_K);
    p.n_head_kv = 2;
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.1.attn_v.weight") == EQ_TYPE_Q4_K);

    /* Q3_K_M: the first two attn_v Q5_K, then Q4_K; attn_output Q4_K */
    p = params(EQ_FTYPE_MOSTLY_Q3_K_M, 3);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.0.attn_v.weight") == EQ_TYPE_Q5_K);
    CHECK(type_of(&l, types, "blk.1.attn_v.weight") == EQ_TYPE_Q5_K);
    CHECK(type_of(&l, types, "blk.2.attn_v.weight") == EQ_TYPE_Q4_K);
    CHECK(type_of(&l, types, "blk.2.attn_output.weight") == EQ_TYPE_Q4_K);

    /* Q4_0: ffn_down of the first n_layer/8 layers becomes Q4_1 only with an imatrix */
    llama_list(&l, 3, 256, 0, 0);
    p = params(EQ_FTYPE_MOSTLY_Q4_0, 8);  /* the rules take n_layer from the hparams */
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.0.ffn_down.weight") == EQ_TYPE_Q4_0);
    CHECK(type_of(&l, types, "output.weight") == EQ_TYPE_Q6_K);
    p.has_imatrix = 1;
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.0.ffn_down.weight") == EQ_TYPE_Q4_1);
    CHECK(type_of(&l, types, "blk.1.ffn_down.weight") == EQ_TYPE_Q4_0);

    /* rows that are not a multiple of 256: the fallbacks (SmolLM2-135M has n_embd 576) */
    llama_list(&l, 3, 576, 0, 0);
    p = params(EQ_FTYPE_MOSTLY_Q4_K_M, 3);
    int nf = 0;
    CHECK(eq_qplan(&p, l.t, l.n, types, &nf, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "output.weight") == EQ_TYPE_Q8_0);
    CHECK(type_of(&l, types, "blk.1.attn_q.weight") == EQ_TYPE_Q5_0);   /* Q4_K -> Q5_0 */
    CHECK(type_of(&l, types, "blk.2.attn_v.weight") == EQ_TYPE_Q8_0);   /* Q6_K (last layer) -> Q8_0 */
    CHECK(nf > 0);
    p = params(EQ_FTYPE_MOSTLY_Q5_K_S, 3);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.1.attn_q.weight") == EQ_TYPE_Q5_1);   /* Q5_K -> Q5_1 */
    p = params(EQ_FTYPE_MOSTLY_Q2_K, 3);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "blk.1.attn_q.weight") == EQ_TYPE_Q4_0);   /* Q2_K -> Q4_0 */

    /* a row no block fits: F16; a forced type that cannot hold it: an error naming the tensor */
    l.n = 0;
    add(&l, "blk.0.attn_q.weight", 100, 8, EQ_TYPE_F32);
    add(&l, "output.weight", 100, 8, EQ_TYPE_F32);
    p = params(EQ_FTYPE_MOSTLY_Q4_0, 1);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(types[0] == EQ_TYPE_F16 && types[1] == EQ_TYPE_F16);
    p.output_type = EQ_TYPE_Q6_K;
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == -1);
    CHECK(strstr(err, "output.weight") != NULL);

    /* --pure, forced types, F16 mixtures */
    llama_list(&l, 3, 256, 0, 0);
    p = params(EQ_FTYPE_MOSTLY_Q4_K_M, 3);
    p.pure = 1;
    p.token_embd_type = EQ_TYPE_Q8_0;
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "output.weight") == EQ_TYPE_Q4_K);
    CHECK(type_of(&l, types, "blk.0.attn_v.weight") == EQ_TYPE_Q4_K);
    CHECK(type_of(&l, types, "token_embd.weight") == EQ_TYPE_Q8_0);
    p = params(EQ_FTYPE_MOSTLY_F16, 3);
    CHECK(eq_qplan(&p, l.t, l.n, types, NULL, err, sizeof err) == 0);
    CHECK(type_of(&l, types, "output.weight") == EQ_TYPE_F16 && type_of(&l, types, "blk.0.ffn_norm.weight") == EQ_TYPE_F32);

    /* what is never quantized */
    const int64_t two[4] = {256, 8, 1, 1}, one[4] = {256, 1, 1, 1};
    CHECK(eq_qplan_allows("blk.0.attn_q.weight", two));
    CHECK(!eq_qplan_allows("blk.0.attn_q.weight", one));
    CHECK(!eq_qplan_allows("blk.0.ffn_gate_inp.weight", two));
    CHECK(!eq_qplan_allows("blk.0.attn_norm.weight", two));
    CHECK(!eq_qplan_allows("rope_factors_long.bias", two));

    /* llama's order: non-block tensors first, then by block number (not by string) */
    l.n = 0;
    add(&l, "blk.10.attn_q.weight", 256, 1, 0);
    add(&l, "blk.2.ffn_up.weight", 256, 1, 0);
    add(&l, "token_embd.weight", 256, 1, 0);
    add(&l, "blk.2.attn_k.weight", 256, 1, 0);
    add(&l, "output.weight", 256, 1, 0);
    int idx[5] = {0, 1, 2, 3, 4};
    eq_qplan_sort(l.t, idx, 5);
    CHECK(idx[0] == 4 && idx[1] == 2 && idx[2] == 3 && idx[3] == 1 && idx[4] == 0);

    CHECK(eq_ftype_from_name("q4_k_m") == EQ_FTYPE_MOSTLY_Q4_K_M);
    CHECK(eq_ftype_from_name("Q4_K") == EQ_FTYPE_MOSTLY_Q4_K_M);
    CHECK(eq_ftype_from_name("Q4_K_X") == -1 && eq_ftype_from_name("IQ2_XS") == -1);
}

/* ---- row quantizers ---- */

static void test_rows(void) {
    float x[512];
    for (int i = 0; i < 512; i++) x[i] = sinf(i * 0.37f) * (1 + (i % 7));
    uint8_t a[1100], b[1100];
    const int ts[] = {EQ_TYPE_Q4_0, EQ_TYPE_Q5_1, EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q4_K, EQ_TYPE_Q6_K, EQ_TYPE_F16};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) {
        size_t rs = eq_row_size(ts[i], 256);
        CHECK(eq_quantize_rows(ts[i], x, a, 2, 256, NULL) == 2 * rs);
        eq_type_traits_ref(ts[i])->from_float(x, b, 512);
        CHECK(!memcmp(a, b, 2 * rs));  /* no importance matrix: the reference quantizer */
    }
    /* with weights the K and legacy searches differ from the plain ones; Q8_0 ignores them */
    float w[256];
    for (int i = 0; i < 256; i++) w[i] = (i % 5) ? 1.0f : 30.0f;
    CHECK(eq_quantize_rows(EQ_TYPE_Q4_K, x, a, 1, 256, w) == 144);
    eq_type_traits_ref(EQ_TYPE_Q4_K)->from_float(x, b, 256);
    CHECK(memcmp(a, b, 144) != 0);
    CHECK(eq_quantize_rows(EQ_TYPE_Q8_0, x, a, 1, 256, w) == 272);
    eq_type_traits_ref(EQ_TYPE_Q8_0)->from_float(x, b, 256);
    CHECK(!memcmp(a, b, 272));
    CHECK(eq_quantize_rows(EQ_TYPE_Q4_K, x, a, 1, 288, NULL) == 0);  /* not whole blocks */
    CHECK(eq_quantize_rows(EQ_TYPE_Q8_1, x, a, 1, 256, NULL) == 0);  /* not a weight type */
}

/* ---- the whole pipeline on a tiny model ---- */

static void write_model(const char *path, int weight_type) {
    eq_gguf_writer *w = eq_gguf_writer_new();
    eq_gguf_writer_set_str(w, "general.architecture", "llama");
    eq_gguf_writer_set_u32(w, "general.file_type", 0);
    eq_gguf_writer_set_u32(w, "llama.block_count", 2);
    eq_gguf_writer_set_u32(w, "llama.attention.head_count", 4);
    eq_gguf_writer_set_u16(w, "split.count", 1);
    const char *names[] = {"blk.1.attn_q.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight", "token_embd.weight"};
    const int64_t shapes[4][2] = {{256, 4}, {256, 4}, {256, 1}, {256, 8}};
    for (int i = 0; i < 4; i++)
        eq_gguf_writer_add_tensor(w, names[i], i == 2 ? EQ_TYPE_F32 : weight_type, i == 2 ? 1 : 2, shapes[i]);
    eq_gguf_writer_open(w, path);
    float row[256];
    uint8_t q[1024];
    for (int i = 0; i < 4; i++) {
        int type = i == 2 ? EQ_TYPE_F32 : weight_type;
        for (int r = 0; r < shapes[i][1]; r++) {
            for (int k = 0; k < 256; k++) row[k] = cosf((float)(k * (r + 1) + i)) * 0.1f;
            eq_quantize_rows(type, row, q, 1, 256, NULL);
            eq_gguf_writer_write(w, q, eq_row_size(type, 256));
        }
    }
    CHECK(!eq_gguf_writer_finish(w));
    eq_gguf_writer_free(w);
}

static int g_cancel_after;
static int cancel_cb(void *user) { (void)user; return --g_cancel_after < 0; }

static void test_model(void) {
    char in[256], out[256], err[512];
    snprintf(in, sizeof in, "%s", tmp_path("in.gguf"));
    snprintf(out, sizeof out, "%s", tmp_path("out.gguf"));
    write_model(in, EQ_TYPE_F16);
    remove(out);

    eq_quantize_params qp = eq_quantize_default_params();
    qp.ftype = EQ_FTYPE_MOSTLY_Q8_0;
    qp.n_threads = 2;
    CHECK(eq_quantize_model(in, out, &qp, err, sizeof err) == EQ_OK);
    eq_gguf *g = NULL;
    CHECK(!eq_gguf_read_file(out, alloc_all, NULL, &g, err, sizeof err));
    if (g) {
        /* keys: copied, split.* removed, quantization_version then file_type appended */
        CHECK(g->n_kv == 5);
        CHECK(!strcmp(g->kv[3].key, "general.quantization_version") && g->kv[3].v.u == 2);
        CHECK(!strcmp(g->kv[4].key, "general.file_type") && g->kv[4].v.u == EQ_FTYPE_MOSTLY_Q8_0);
        CHECK(eq_gguf_find_key(g, "split.count") < 0);
        /* llama's order and types */
        CHECK(!strcmp(g->tensors[0].name, "token_embd.weight") && g->tensors[0].type == EQ_TYPE_Q8_0);
        CHECK(!strcmp(g->tensors[1].name, "blk.0.attn_norm.weight") && g->tensors[1].type == EQ_TYPE_F32);
        CHECK(!strcmp(g->tensors[2].name, "blk.0.attn_q.weight") && g->tensors[2].type == EQ_TYPE_Q8_0);
        CHECK(!strcmp(g->tensors[3].name, "blk.1.attn_q.weight"));
        /* the data: F16 -> F32 -> Q8_0 of the same rows */
        float row[256], back[256];
        for (int k = 0; k < 256; k++) row[k] = cosf((float)(k * 2 + 1)) * 0.1f;  /* blk.0.attn_q row 1 (i = 1) */
        uint8_t h[512], q8[272];
        eq_quantize_rows(EQ_TYPE_F16, row, h, 1, 256, NULL);
        eq_type_traits_ref(EQ_TYPE_F16)->to_float(h, back, 256);
        eq_quantize_rows(EQ_TYPE_Q8_0, back, q8, 1, 256, NULL);
        CHECK(!memcmp((uint8_t *)g->tensors[2].data + 272, q8, 272));
        free_data(g);
        eq_gguf_free(g);
    } else {
        fprintf(stderr, "%s\n", err);
    }

    /* an already quantized input needs allow_requantize; nothing is written without it */
    char qin[256];
    snprintf(qin, sizeof qin, "%s", tmp_path("qin.gguf"));
    write_model(qin, EQ_TYPE_Q8_0);
    remove(out);
    qp.ftype = EQ_FTYPE_MOSTLY_Q4_0;
    CHECK(eq_quantize_model(qin, out, &qp, err, sizeof err) == EQ_ERR_ARG);
    CHECK(strstr(err, "requantiz") != NULL && strstr(err, "Q8_0") != NULL);
    CHECK(!file_exists(out) && !temp_exists(out));
    qp.allow_requantize = 1;
    CHECK(eq_quantize_model(qin, out, &qp, err, sizeof err) == EQ_OK);
    CHECK(file_exists(out));
    qp.allow_requantize = 0;

    /* truncated input: an error naming the file, and the old output stays as it was */
    long old = file_size(out);
    FILE *fi = fopen(in, "rb"), *ft = fopen(qin, "wb");
    for (long i = 0; i < file_size(in) - 100; i++) fputc(fgetc(fi), ft);
    fclose(fi);
    fclose(ft);
    qp.ftype = EQ_FTYPE_MOSTLY_Q8_0;
    CHECK(eq_quantize_model(qin, out, &qp, err, sizeof err) == EQ_ERR_FORMAT);
    CHECK(strstr(err, qin) != NULL);
    CHECK(file_size(out) == old && !temp_exists(out));

    /* cancelled half-way: no output */
    remove(out);
    g_cancel_after = 2;
    qp.cancel = cancel_cb;
    CHECK(eq_quantize_model(in, out, &qp, err, sizeof err) == EQ_ERR_ABORTED);
    CHECK(!file_exists(out) && !temp_exists(out));
    qp.cancel = NULL;

    /* bad arguments */
    CHECK(eq_quantize_model(in, in, &qp, err, sizeof err) == EQ_ERR_ARG);
    CHECK(eq_quantize_model("/nonexistent-eq.gguf", out, &qp, err, sizeof err) == EQ_ERR_IO);
    qp.imatrix = "/nonexistent-eq.imatrix";
    CHECK(eq_quantize_model(in, out, &qp, err, sizeof err) == EQ_ERR_IO && strstr(err, "nonexistent-eq.imatrix"));
    CHECK(!file_exists(out) && !temp_exists(out));
    remove(in);
    remove(qin);
}

/* A crafted input with a million keys or tensors: quantize copies every key and adds every
 * tensor, each after a duplicate check. Those lookups are hashed (they were linear: hours for a
 * million keys); gguf_set_val_*'s order (a re-set key moves to the end) and removal still hold. */
static int feed_sink(void *user, const void *data, size_t n) { return eq_gguf_feed((eq_gguf *)user, data, n) != EQ_OK; }

static void test_writer_many(void) {
    enum { NK = 1000000, NT = 200000 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    eq_gguf_writer *w = eq_gguf_writer_new();
    char key[32];
    int bad = 0;
    for (int i = 0; i < NK && !bad; i++) {
        snprintf(key, sizeof key, "k.%d", i);
        bad = eq_gguf_writer_set_u32(w, key, (uint32_t)i) != EQ_OK;
    }
    CHECK(!bad);
    CHECK(!eq_gguf_writer_set_u32(w, "k.0", 7));      /* moves to the end */
    CHECK(eq_gguf_writer_remove(w, "k.1") == 1);
    CHECK(eq_gguf_writer_remove(w, "k.1") == 0);
    CHECK(!eq_gguf_writer_set_u32(w, "k.1", 11));     /* back, at the end */
    CHECK(eq_gguf_writer_n_kv(w) == NK);
    const int64_t ne[1] = {32};
    for (int i = 0; i < NT && !bad; i++) {
        snprintf(key, sizeof key, "t.%d", i);
        bad = eq_gguf_writer_add_tensor(w, key, EQ_TYPE_F32, 1, ne) != EQ_OK;
    }
    CHECK(!bad);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK(secs < 20.0);   /* about a second (several under ASan); the linear search took hours */
    if (secs >= 20.0) fprintf(stderr, "writer: %d keys and %d tensors took %.1f s\n", NK, NT, secs);

    /* read the header back: the order is gguf's, the values the last ones set */
    eq_gguf *g = eq_gguf_new(0, NULL, NULL);
    CHECK(!eq_gguf_writer_open_sink(w, "many", feed_sink, g));
    CHECK(g->header_ready && g->n_kv == (uint64_t)NK && g->n_tensors == (uint64_t)NT);
    if (g->header_ready && g->n_kv == (uint64_t)NK) {
        CHECK(!strcmp(g->kv[0].key, "k.2"));
        CHECK(!strcmp(g->kv[NK - 2].key, "k.0") && g->kv[NK - 2].v.u == 7);
        CHECK(!strcmp(g->kv[NK - 1].key, "k.1") && g->kv[NK - 1].v.u == 11);
        const eq_gguf_kv *kv = eq_gguf_get(g, "k.123456");
        CHECK(kv && kv->v.u == 123456);
    }
    CHECK(eq_gguf_writer_add_tensor(w, "t.4242", EQ_TYPE_F32, 1, ne) != EQ_OK);   /* after open: refused */
    eq_gguf_writer_free(w);
    eq_gguf_free(g);

    w = eq_gguf_writer_new();   /* a duplicate among many tensors is still found */
    for (int i = 0; i < 1000; i++) { snprintf(key, sizeof key, "t.%d", i); eq_gguf_writer_add_tensor(w, key, EQ_TYPE_F32, 1, ne); }
    CHECK(eq_gguf_writer_add_tensor(w, "t.777", EQ_TYPE_F32, 1, ne) != EQ_OK);
    CHECK(strstr(eq_gguf_writer_errmsg(w), "duplicate tensor name 't.777'") != NULL);
    eq_gguf_writer_free(w);
}

int main(void) {
    test_writer_roundtrip();
    test_writer_cleanup();
    test_writer_many();
    test_rules();
    test_rows();
    test_model();
    return eqt_done();
}
