/* A program with a cJSON of its own (here a stand-in that counts its calls), linked with
 * libedgeq.a: it must link (no duplicate cJSON_* definitions), its cJSON_Parse must be the one
 * it calls, and edgeq must keep parsing with its own copy, never calling this one.
 * usage: own_cjson DIR   (an empty scratch folder: a config.json is written there) */
#include "edgeq_quantize.h"
#include <stdio.h>
#include <string.h>

typedef struct cJSON cJSON;
static int own_calls;
static int sentinel;
cJSON *cJSON_Parse(const char *value) { (void)value; own_calls++; return (cJSON *)&sentinel; }
void cJSON_Delete(cJSON *item) { (void)item; own_calls++; }
const char *cJSON_Version(void) { own_calls++; return "0.0.0-own"; }

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int fails = 0;
    if (cJSON_Parse("{}") != (cJSON *)&sentinel || strcmp(cJSON_Version(), "0.0.0-own")) {
        printf("FAIL: the program's own cJSON is not the one it calls\n");
        fails++;
    }
    cJSON_Delete(NULL);
    const int calls = own_calls;

    /* edgeq reads config.json with its cJSON: the architecture named there must come back */
    char path[4096], out[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/config.json", argv[1]);
    snprintf(out, sizeof out, "%s/out.gguf", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) return 2;
    fputs("{\"architectures\": [\"NoSuchForCausalLM\"], \"hidden_size\": 64}\n", f);
    fclose(f);
    eq_status st = eq_hf_convert(argv[1], out, NULL, err, sizeof err);
    if (st != EQ_ERR_UNSUPPORTED || !strstr(err, "NoSuchForCausalLM")) {
        printf("FAIL: edgeq did not parse config.json with its own cJSON (%s: %s)\n", eq_status_str(st), err);
        fails++;
    }
    if (own_calls != calls) {
        printf("FAIL: edgeq called the program's cJSON (%d times)\n", own_calls - calls);
        fails++;
    }
    printf("own_cjson: %d passed, %d failed\n", 3 - fails, fails);
    return fails != 0;
}
