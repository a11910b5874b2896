/* safetensors headers and JSON on hostile input: every case must fail with a message naming the
 * file and tensor/key, never crash (CI runs this under ASan/UBSan too); valid files read back
 * F32/F16/BF16 exactly; sharded folders agree with their index. */
#define _POSIX_C_SOURCE 200809L
#include "eqtest.h"
#include "format/json.h"
#include "format/safetensors.h"
#include "edgeq_quantize.h"
#include "quant/quant.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static eq_status parse(const char *json, uint64_t data_size, char *err, size_t errlen, size_t *n) {
    eq_st_model *m = eq_st_new();
    eq_status st = eq_st_parse_header(m, 0, "x.safetensors", json, strlen(json), 8 + strlen(json), data_size, err, errlen);
    if (n) *n = m->n_tensors;
    eq_st_free(m);
    return st;
}

/* expect failure with `want` in the message */
static void bad(const char *json, uint64_t data_size, eq_status want_st, const char *want) {
    char err[512] = "";
    eq_status st = parse(json, data_size, err, sizeof err, NULL);
    CHECKF(st == want_st, "%s -> status %d (%s)", json, st, err);
    CHECKF(strstr(err, want) != NULL, "%.80s: message '%s' lacks '%s'", json, err, want);
    CHECKF(strstr(err, "x.safetensors") != NULL, "message '%s' does not name the file", err);
}

static void test_headers(void) {
    char err[512];
    size_t n = 0;
    CHECK(parse("{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
                "\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 32, err, sizeof err, &n) == EQ_OK);
    CHECK(n == 2);
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 20, EQ_ERR_FORMAT, "'w'");           /* truncated */
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 40, EQ_ERR_FORMAT, "'w'");           /* size/shape */
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}", 40, EQ_ERR_FORMAT, "'w'");           /* reversed */
    bad("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, EQ_ERR_UNSUPPORTED, "I64");
    bad("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 8, EQ_ERR_FORMAT, "dtype");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, EQ_ERR_FORMAT, "shape");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, EQ_ERR_FORMAT, "shape");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, EQ_ERR_FORMAT, "shape");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300,1e300],\"data_offsets\":[0,8]}}", 8, EQ_ERR_FORMAT, "shape");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", 8, EQ_ERR_FORMAT, "'w'");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 8, EQ_ERR_UNSUPPORTED, "dimensions");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, EQ_ERR_FORMAT, "data_offsets");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e400]}}", 8, EQ_ERR_FORMAT, "data_offsets");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",8]}}", 8, EQ_ERR_FORMAT, "data_offsets");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        16, EQ_ERR_FORMAT, "overlap");
    bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        8, EQ_ERR_FORMAT, "twice");
    bad("{\"w\":[1,2]}", 8, EQ_ERR_FORMAT, "'w'");
    bad("[1,2,3]", 8, EQ_ERR_FORMAT, "object");
    bad("{\"w\":{\"dtype\":\"F32\"", 8, EQ_ERR_FORMAT, "malformed");
    bad("{\"w\":{}} trailing", 8, EQ_ERR_FORMAT, "after the JSON");
    bad("{\"__metadata__\":5}", 8, EQ_ERR_FORMAT, "__metadata__");
    /* nesting far past cJSON's limit: an error, not a stack overflow */
    {
        size_t depth = 200000;
        char *s = malloc(2 * depth + 1);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = 0;
        bad(s, 8, EQ_ERR_FORMAT, "nested");
        free(s);
    }
}

static void test_json_getters(void) {
    cJSON *j;
    char err[256];
    const char *t = "{\"a\": 5, \"b\": 2.5, \"c\": \"x\", \"d\": true, \"e\": 1e999, \"f\": 123456789012345678901234567890, \"n\": null}";
    CHECK(eq_json_parse("t.json", t, strlen(t), &j, err, sizeof err) == EQ_OK);
    int64_t i;
    double d;
    int b;
    CHECK(eq_json_int(j, "a", 0, 10, &i) == 1 && i == 5);
    CHECK(eq_json_int(j, "a", 0, 4, &i) == -1);      /* out of range */
    CHECK(eq_json_int(j, "b", 0, 10, &i) == -1);     /* not integral */
    CHECK(eq_json_int(j, "c", 0, 10, &i) == -1);     /* wrong type */
    CHECK(eq_json_int(j, "e", 0, INT64_MAX, &i) == -1);
    CHECK(eq_json_int(j, "f", 0, INT64_MAX, &i) == -1);
    CHECK(eq_json_int(j, "n", 0, 10, &i) == 0);      /* null = absent */
    CHECK(eq_json_int(j, "zz", 0, 10, &i) == 0);
    CHECK(eq_json_num(j, "b", &d) == 1 && d == 2.5);
    CHECK(eq_json_num(j, "e", &d) == -1);            /* infinity */
    CHECK(eq_json_bool(j, "d", &b) == 1 && b == 1);
    CHECK(eq_json_bool(j, "a", &b) == -1);
    CHECK(eq_json_str(j, "c") && !strcmp(eq_json_str(j, "c"), "x"));
    CHECK(eq_json_str(j, "a") == NULL);
    cJSON_Delete(j);
    CHECK(eq_json_parse("t.json", "", 0, &j, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "t.json"));
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(p, 1, n, f); fclose(f); }
}

static size_t st_file(char *out, const char *json, const void *data, size_t dn) {
    uint64_t hl = strlen(json);
    memcpy(out, &hl, 8);
    memcpy(out + 8, json, hl);
    memcpy(out + 8 + hl, data, dn);
    return 8 + hl + dn;
}

static void test_files(void) {
    char dir[] = "/tmp/eq_st_testXXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[600], err[512], buf[4096];
    /* F32 [2], F16 [2], BF16 [2] */
    float f32[2] = {1.5f, -2.25f};
    uint16_t f16[2] = {0x3c00, 0xc000};     /* 1, -2 */
    uint16_t bf16[2] = {0x3fc0, 0x4049};    /* 1.5, 3.140625 */
    unsigned char data[16];
    memcpy(data, f32, 8); memcpy(data + 8, f16, 4); memcpy(data + 12, bf16, 4);
    const char *h = "{\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]}}";
    size_t n = st_file(buf, h, data, sizeof data);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_file(path, buf, n);
    eq_st_model *m = NULL;
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_OK);
    if (m) {
        CHECK(m->n_tensors == 3 && !strcmp(m->tensors[0].name, "a") && !strcmp(m->tensors[2].name, "c"));  /* by name */
        float out[2];
        CHECK(eq_st_read_f32(m, 0, out, err, sizeof err) == EQ_OK && out[0] == 1.5f && out[1] == -2.25f);
        CHECK(eq_st_read_f32(m, 1, out, err, sizeof err) == EQ_OK && out[0] == 1.0f && out[1] == -2.0f);
        CHECK(eq_st_read_f32(m, 2, out, err, sizeof err) == EQ_OK && out[0] == 1.5f && out[1] == 3.140625f);
        CHECK(m->tensors[1].n_dims == 2 && m->tensors[1].shape[0] == 1 && m->tensors[1].shape[1] == 2);
        eq_st_free(m);
    }
    /* truncated data section */
    write_file(path, buf, n - 3);
    m = NULL;
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "'c'") && strstr(err, "model.safetensors"));
    /* header length larger than the file */
    uint64_t big = 1u << 20;
    memcpy(buf, &big, 8);
    write_file(path, buf, n);
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "truncated"));
    /* absurd header length */
    big = UINT64_MAX;
    memcpy(buf, &big, 8);
    write_file(path, buf, n);
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "implausible"));
    unlink(path);

    /* shards + index: the index must match the shards, and may not point outside the folder */
    n = st_file(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8);
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", dir);
    write_file(path, buf, n);
    n = st_file(buf, "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8);
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
    write_file(path, buf, n);
    char ipath[512];
    snprintf(ipath, sizeof ipath, "%s/model.safetensors.index.json", dir);
    const char *idx = "{\"weight_map\":{\"b\":\"model-00002-of-00002.safetensors\",\"a\":\"model-00001-of-00002.safetensors\"}}";
    write_file(ipath, idx, strlen(idx));
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_OK);
    if (m) { CHECK(m->n_files == 2 && m->n_tensors == 2 && m->tensors[1].file == 1); eq_st_free(m); m = NULL; }
    idx = "{\"weight_map\":{\"b\":\"model-00002-of-00002.safetensors\",\"a\":\"model-00001-of-00002.safetensors\",\"c\":\"model-00002-of-00002.safetensors\"}}";
    write_file(ipath, idx, strlen(idx));
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "'c'"));
    idx = "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\"}}";
    write_file(ipath, idx, strlen(idx));
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_OK);   /* only the listed shard is read */
    if (m) { CHECK(m->n_tensors == 1); eq_st_free(m); m = NULL; }
    idx = "{\"weight_map\":{\"a\":\"../etc/passwd\"}}";
    write_file(ipath, idx, strlen(idx));
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "not a file name"));
    idx = "{\"weight_map\":[1]}";
    write_file(ipath, idx, strlen(idx));
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "weight_map"));
    idx = "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\"";
    write_file(ipath, idx, strlen(idx));
    CHECK(eq_st_open_dir(dir, &m, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "index.json"));
    unlink(ipath);

    /* the converter: no config.json, then an unsupported architecture; never an output file */
    char out[520];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    CHECK(eq_hf_convert(dir, out, NULL, err, sizeof err) != EQ_OK && strstr(err, "config.json"));
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *cfg = "{\"architectures\":[\"MambaForCausalLM\"],\"hidden_size\":64}";
    write_file(path, cfg, strlen(cfg));
    CHECK(eq_hf_convert(dir, out, NULL, err, sizeof err) == EQ_ERR_UNSUPPORTED && strstr(err, "MambaForCausalLM"));
    cfg = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":\"64\"}";
    write_file(path, cfg, strlen(cfg));
    CHECK(eq_hf_convert(dir, out, NULL, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "hidden_size"));
    cfg = "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":1,"
          "\"vocab_size\":8,\"intermediate_size\":16}";
    write_file(path, cfg, strlen(cfg));
    /* the shards hold tensors "a" and "b", which are no llama weights */
    CHECK(eq_hf_convert(dir, out, NULL, err, sizeof err) == EQ_ERR_UNSUPPORTED && strstr(err, "'a'"));
    eq_hf_convert_params cp = eq_hf_convert_default_params();
    CHECK(cp.outtype == EQ_HF_OUTTYPE_AUTO && !cp.warn && !cp.on_temp);
    cp.outtype = EQ_TYPE_Q4_0;   /* not an output type the script offers */
    CHECK(eq_hf_convert(dir, out, &cp, err, sizeof err) == EQ_ERR_ARG && strstr(err, "q8_0"));
    struct stat sb;
    CHECK(stat(out, &sb) != 0);
    snprintf(path, sizeof path, "%s.tmp", out);
    CHECK(stat(path, &sb) != 0);

    snprintf(path, sizeof path, "%s/config.json", dir); unlink(path);
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", dir); unlink(path);
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir); unlink(path);
    rmdir(dir);
}

int main(void) {
    test_headers();
    test_json_getters();
    test_files();
    return eqt_done();
}
