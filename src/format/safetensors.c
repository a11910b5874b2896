/* safetensors reader (see safetensors.h). */
#define _POSIX_C_SOURCE 200809L   /* fseeko/ftello: 64-bit offsets on 32-bit targets (wasm32) */
#include "format/safetensors.h"
#include "format/json.h"
#include "quant/quant.h"
#include "quant/fp16.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_TENSORS (1u << 22)
#define MAX_FILES 100000

eq_st_model *eq_st_new(void) { return calloc(1, sizeof(eq_st_model)); }

void eq_st_free(eq_st_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_files; i++) free(m->files[i]);
    free(m->files);
    for (size_t i = 0; i < m->n_tensors; i++) free(m->tensors[i].name);
    free(m->tensors);
    free(m);
}

static int dtype_of(const char *s, size_t *elsize) {
    if (!strcmp(s, "F32"))  { *elsize = 4; return EQ_TYPE_F32; }
    if (!strcmp(s, "F16"))  { *elsize = 2; return EQ_TYPE_F16; }
    if (!strcmp(s, "BF16")) { *elsize = 2; return EQ_TYPE_BF16; }
    return -1;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const eq_st_tensor *)a)->name, ((const eq_st_tensor *)b)->name);
}

static int cmp_offset(const void *a, const void *b) {
    const eq_st_tensor *x = *(eq_st_tensor *const *)a, *y = *(eq_st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

eq_status eq_st_parse_header(eq_st_model *m, int file, const char *fname, const char *json,
                             size_t len, uint64_t data_start, uint64_t data_size,
                             char *err, size_t errlen) {
    cJSON *root;
    eq_status st = eq_json_parse(fname, json, len, &root, err, errlen);
    if (st) return st;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: header is not a JSON object", fname);
        cJSON_Delete(root);
        return EQ_ERR_FORMAT;
    }
    size_t n = 0;
    for (const cJSON *e = root->child; e; e = e->next) n++;
    if (n > MAX_TENSORS || m->n_tensors + n > MAX_TENSORS) {
        snprintf(err, errlen, "%s: too many tensors", fname);
        cJSON_Delete(root);
        return EQ_ERR_FORMAT;
    }
    eq_st_tensor *nt = realloc(m->tensors, (m->n_tensors + n + 1) * sizeof *nt);
    if (!nt) { cJSON_Delete(root); snprintf(err, errlen, "%s: out of memory", fname); return EQ_ERR_NOMEM; }
    m->tensors = nt;
    size_t first = m->n_tensors;
    st = EQ_OK;
#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); st = EQ_ERR_FORMAT; goto done; } while (0)
    for (const cJSON *e = root->child; e; e = e->next) {
        const char *name = e->string;
        if (!name) BAD("%s: header entry without a name", fname);
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(e)) BAD("%s: __metadata__ is not an object", fname);
            continue;
        }
        if (!*name || strlen(name) > 1024) BAD("%s: tensor name empty or too long", fname);
        if (!cJSON_IsObject(e)) BAD("%s: tensor '%s': entry is not an object", fname, name);
        const char *ds = eq_json_str(e, "dtype");
        if (!ds) BAD("%s: tensor '%s': missing or non-string \"dtype\"", fname, name);
        size_t elsize = 0;
        int dt = dtype_of(ds, &elsize);
        if (dt < 0) {
            snprintf(err, errlen, "%s: tensor '%s': dtype %.16s is not supported (F32, F16, BF16)",
                     fname, name, ds);
            st = EQ_ERR_UNSUPPORTED;
            goto done;
        }
        const cJSON *shape = eq_json_get(e, "shape");
        if (!cJSON_IsArray(shape)) BAD("%s: tensor '%s': missing or non-array \"shape\"", fname, name);
        int nd = cJSON_GetArraySize(shape);
        if (nd > EQ_ST_MAX_DIMS) {
            snprintf(err, errlen, "%s: tensor '%s': %d dimensions (at most %d supported)", fname, name,
                     nd, EQ_ST_MAX_DIMS);
            st = EQ_ERR_UNSUPPORTED;
            goto done;
        }
        eq_st_tensor *t = &m->tensors[m->n_tensors];
        memset(t, 0, sizeof *t);
        t->dtype = dt;
        t->n_dims = nd;
        t->file = file;
        uint64_t ne = 1;
        int d = 0;
        for (const cJSON *s = shape->child; s; s = s->next, d++) {
            int64_t v;
            if (!eq_json_as_int(s, 0, (int64_t)1 << 40, &v))
                BAD("%s: tensor '%s': shape[%d] is not a non-negative integer", fname, name, d);
            t->shape[d] = v;
            if (v && ne > (UINT64_MAX / 8) / (uint64_t)v) BAD("%s: tensor '%s': shape too large", fname, name);
            ne *= (uint64_t)v;
        }
        t->n_elem = (int64_t)ne;
        const cJSON *offs = eq_json_get(e, "data_offsets");
        int64_t b0, b1;
        if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
            !eq_json_as_int(offs->child, 0, INT64_MAX, &b0) ||
            !eq_json_as_int(offs->child->next, 0, INT64_MAX, &b1))
            BAD("%s: tensor '%s': \"data_offsets\" is not [begin, end] in bytes", fname, name);
        if (b1 < b0 || (uint64_t)b1 > data_size)
            BAD("%s: tensor '%s': data_offsets [%lld, %lld] outside the %llu-byte data section (truncated file?)",
                fname, name, (long long)b0, (long long)b1, (unsigned long long)data_size);
        if ((uint64_t)(b1 - b0) != ne * elsize)
            BAD("%s: tensor '%s': %lld bytes of data for %llu %s values", fname, name,
                (long long)(b1 - b0), (unsigned long long)ne, ds);
        t->offset = data_start + (uint64_t)b0;
        t->nbytes = (uint64_t)(b1 - b0);
        t->name = malloc(strlen(name) + 1);
        if (!t->name) { st = EQ_ERR_NOMEM; snprintf(err, errlen, "%s: out of memory", fname); goto done; }
        strcpy(t->name, name);
        m->n_tensors++;
    }
    /* by name within the file, as convert_hf_to_gguf.py (and safetensors itself) orders them */
    qsort(m->tensors + first, m->n_tensors - first, sizeof *m->tensors, cmp_name);
    for (size_t i = first + 1; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i - 1].name, m->tensors[i].name))
            BAD("%s: tensor '%s' is listed twice", fname, m->tensors[i].name);
    {
        /* overlapping ranges would let one tensor's bytes be read as another's */
        size_t k = m->n_tensors - first;
        eq_st_tensor **by = malloc((k + 1) * sizeof *by);
        if (!by) { st = EQ_ERR_NOMEM; snprintf(err, errlen, "%s: out of memory", fname); goto done; }
        for (size_t i = 0; i < k; i++) by[i] = &m->tensors[first + i];
        qsort(by, k, sizeof *by, cmp_offset);
        for (size_t i = 1; i < k; i++) {
            if (by[i]->nbytes && by[i - 1]->offset + by[i - 1]->nbytes > by[i]->offset) {
                snprintf(err, errlen, "%s: tensors '%s' and '%s' overlap", fname, by[i - 1]->name, by[i]->name);
                st = EQ_ERR_FORMAT;
                break;
            }
        }
        free(by);
    }
done:
#undef BAD
    if (st) {
        for (size_t i = first; i < m->n_tensors; i++) free(m->tensors[i].name);
        m->n_tensors = first;
    }
    cJSON_Delete(root);
    return st;
}

eq_status eq_st_add_file(eq_st_model *m, const char *path, char *err, size_t errlen) {
    if (m->n_files >= MAX_FILES) { snprintf(err, errlen, "%s: too many shards", path); return EQ_ERR_FORMAT; }
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open file", path); return EQ_ERR_IO; }
    uint64_t size = 0;
    if (fseeko(f, 0, SEEK_END) == 0) {
        off_t e = ftello(f);
        if (e > 0) size = (uint64_t)e;
    }
    fseeko(f, 0, SEEK_SET);
    unsigned char hb[8];
    if (size < 8 || fread(hb, 1, 8, f) != 8) {
        fclose(f);
        snprintf(err, errlen, "%s: truncated (no safetensors header)", path);
        return EQ_ERR_FORMAT;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | hb[i];
    if (hlen > EQ_ST_MAX_HEADER || hlen < 2) {
        fclose(f);
        snprintf(err, errlen, "%s: header length %llu is implausible (not a safetensors file?)", path,
                 (unsigned long long)hlen);
        return EQ_ERR_FORMAT;
    }
    if (8 + hlen > size) {
        fclose(f);
        snprintf(err, errlen, "%s: truncated: header needs %llu bytes, file has %llu", path,
                 (unsigned long long)(8 + hlen), (unsigned long long)size);
        return EQ_ERR_FORMAT;
    }
    char *json = malloc((size_t)hlen + 1);
    if (!json) { fclose(f); snprintf(err, errlen, "%s: out of memory", path); return EQ_ERR_NOMEM; }
    if (fread(json, 1, (size_t)hlen, f) != hlen) {
        free(json); fclose(f);
        snprintf(err, errlen, "%s: read error in the header", path);
        return EQ_ERR_IO;
    }
    fclose(f);
    json[hlen] = 0;
    char **nf = realloc(m->files, (m->n_files + 1) * sizeof *nf);
    char *p = malloc(strlen(path) + 1);
    if (nf) m->files = nf;
    if (!nf || !p) { free(p); free(json); snprintf(err, errlen, "%s: out of memory", path); return EQ_ERR_NOMEM; }
    strcpy(p, path);
    eq_status st = eq_st_parse_header(m, m->n_files, path, json, (size_t)hlen, 8 + hlen,
                                      size - 8 - hlen, err, errlen);
    free(json);
    if (st) { free(p); return st; }
    m->files[m->n_files++] = p;
    return EQ_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Shard names: the index's weight_map values (deduplicated, sorted), or model*.safetensors. */
static eq_status shard_names(const char *dir, char ***names_out, int *n_out, cJSON **index_out,
                             char *err, size_t errlen) {
    char **names = NULL;
    int n = 0, cap = 0;
    eq_status st = EQ_OK;
    *index_out = NULL;
    char *ipath = eq_path_join(dir, "model.safetensors.index.json");
    if (!ipath) { snprintf(err, errlen, "%s: out of memory", dir); return EQ_ERR_NOMEM; }
    if (eq_file_exists(ipath)) {
        cJSON *idx;
        st = eq_json_load(ipath, &idx, err, errlen);
        if (st) { free(ipath); return st; }
        const cJSON *wm = eq_json_get(idx, "weight_map");
        if (!cJSON_IsObject(wm)) {
            snprintf(err, errlen, "%s: no \"weight_map\" object", ipath);
            cJSON_Delete(idx); free(ipath);
            return EQ_ERR_FORMAT;
        }
        for (const cJSON *e = wm->child; e; e = e->next) {
            if (!cJSON_IsString(e) || !e->string) {
                snprintf(err, errlen, "%s: weight_map entry '%.200s' is not a file name", ipath,
                         e->string ? e->string : "?");
                st = EQ_ERR_FORMAT;
                break;
            }
            const char *s = e->valuestring;
            /* a shard is a plain file name inside the folder, never a path out of it */
            if (!*s || strchr(s, '/') || strchr(s, '\\') || !strcmp(s, ".") || !strcmp(s, "..")) {
                snprintf(err, errlen, "%s: weight_map: '%.200s' is not a file name in the folder", ipath, s);
                st = EQ_ERR_FORMAT;
                break;
            }
            int dup = 0;
            for (int i = 0; i < n && !dup; i++) dup = !strcmp(names[i], s);
            if (dup) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn) { st = EQ_ERR_NOMEM; break; }
                names = nn;
            }
            names[n] = malloc(strlen(s) + 1);
            if (!names[n]) { st = EQ_ERR_NOMEM; break; }
            strcpy(names[n++], s);
        }
        if (st) {
            if (st == EQ_ERR_NOMEM) snprintf(err, errlen, "%s: out of memory", ipath);
            for (int i = 0; i < n; i++) free(names[i]);
            free(names);
            cJSON_Delete(idx);
            free(ipath);
            return st;
        }
        *index_out = idx;
    } else {
        DIR *d = opendir(dir);
        if (!d) { snprintf(err, errlen, "%s: cannot open folder", dir); free(ipath); return EQ_ERR_IO; }
        struct dirent *de;
        while ((de = readdir(d))) {
            const char *s = de->d_name;
            size_t l = strlen(s);
            if (l < 17 || strncmp(s, "model", 5) || strcmp(s + l - 12, ".safetensors")) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn) { st = EQ_ERR_NOMEM; break; }
                names = nn;
            }
            names[n] = malloc(l + 1);
            if (!names[n]) { st = EQ_ERR_NOMEM; break; }
            strcpy(names[n++], s);
        }
        closedir(d);
        if (st) {
            snprintf(err, errlen, "%s: out of memory", dir);
            for (int i = 0; i < n; i++) free(names[i]);
            free(names);
            free(ipath);
            return st;
        }
    }
    free(ipath);
    if (n == 0) {
        free(names);
        cJSON_Delete(*index_out);
        *index_out = NULL;
        snprintf(err, errlen, "%s: no model*.safetensors weights found", dir);
        return EQ_ERR_IO;
    }
    qsort(names, n, sizeof *names, cmp_str);
    *names_out = names;
    *n_out = n;
    return EQ_OK;
}

eq_status eq_st_open_dir(const char *dir, eq_st_model **out, char *err, size_t errlen) {
    *out = NULL;
    char **names;
    int n;
    cJSON *index;
    eq_status st = shard_names(dir, &names, &n, &index, err, errlen);
    if (st) return st;
    eq_st_model *m = eq_st_new();
    if (!m) st = EQ_ERR_NOMEM, snprintf(err, errlen, "out of memory");
    for (int i = 0; i < n && !st; i++) {
        char *p = eq_path_join(dir, names[i]);
        if (!p) { st = EQ_ERR_NOMEM; snprintf(err, errlen, "out of memory"); break; }
        st = eq_st_add_file(m, p, err, errlen);
        free(p);
    }
    /* the same tensor in two shards is ambiguous */
    if (!st && m->n_files > 1) {
        eq_st_tensor *copy = malloc(m->n_tensors * sizeof *copy + 1);
        if (!copy) { st = EQ_ERR_NOMEM; snprintf(err, errlen, "out of memory"); }
        else {
            memcpy(copy, m->tensors, m->n_tensors * sizeof *copy);
            qsort(copy, m->n_tensors, sizeof *copy, cmp_name);
            for (size_t i = 1; i < m->n_tensors && !st; i++)
                if (!strcmp(copy[i - 1].name, copy[i].name)) {
                    snprintf(err, errlen, "%s: tensor '%s' is in two shards (%s, %s)", dir, copy[i].name,
                             m->files[copy[i - 1].file], m->files[copy[i].file]);
                    st = EQ_ERR_FORMAT;
                }
            free(copy);
        }
    }
    /* the index and the shards must agree, name for name and file for file */
    if (!st && index) {
        const cJSON *wm = eq_json_get(index, "weight_map");
        size_t listed = 0;
        for (const cJSON *e = wm->child; e && !st; e = e->next) {
            listed++;
            long i = e->string ? eq_st_find(m, e->string) : -1;
            if (i < 0) {
                snprintf(err, errlen, "%s: tensor '%.200s' listed in model.safetensors.index.json is missing from %s",
                         dir, e->string ? e->string : "?", e->valuestring);
                st = EQ_ERR_FORMAT;
            }
        }
        if (!st && listed != m->n_tensors) {
            for (size_t i = 0; i < m->n_tensors; i++)
                if (!eq_json_get(wm, m->tensors[i].name)) {
                    snprintf(err, errlen, "%s: tensor '%s' in %s is not in model.safetensors.index.json",
                             dir, m->tensors[i].name, m->files[m->tensors[i].file]);
                    break;
                }
            st = EQ_ERR_FORMAT;
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    cJSON_Delete(index);
    if (st) { eq_st_free(m); return st; }
    *out = m;
    return EQ_OK;
}

long eq_st_find(const eq_st_model *m, const char *name) {
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return (long)i;
    return -1;
}

eq_status eq_st_read_f32(const eq_st_model *m, size_t i, float *dst, char *err, size_t errlen) {
    if (i >= m->n_tensors) { snprintf(err, errlen, "tensor index out of range"); return EQ_ERR_ARG; }
    const eq_st_tensor *t = &m->tensors[i];
    const char *path = m->files[t->file];
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open file", path); return EQ_ERR_IO; }
    size_t n = (size_t)t->n_elem;
    /* 2-byte values are read into the upper half of dst and widened in place, front to back:
     * element k's 4 bytes never reach raw bytes not yet read (4k + 4 <= 2n + 2k + 2) */
    unsigned char *raw = (unsigned char *)dst + (t->dtype == EQ_TYPE_F32 ? 0 : 2 * n);
    if (fseeko(f, (off_t)t->offset, SEEK_SET) != 0 || fread(raw, 1, (size_t)t->nbytes, f) != t->nbytes) {
        fclose(f);
        snprintf(err, errlen, "%s: tensor '%s': cannot read %llu bytes at offset %llu (truncated file?)", path,
                 t->name, (unsigned long long)t->nbytes, (unsigned long long)t->offset);
        return EQ_ERR_IO;
    }
    fclose(f);
    if (t->dtype == EQ_TYPE_F32) {
        /* little-endian on disk; every target we build for is little-endian too */
        return EQ_OK;
    }
    for (size_t k = 0; k < n; k++) {
        uint16_t h = (uint16_t)(raw[2 * k] | raw[2 * k + 1] << 8);
        dst[k] = t->dtype == EQ_TYPE_F16 ? eq_fp16_to_fp32(h) : eq_bf16_to_fp32(h);
    }
    return EQ_OK;
}
