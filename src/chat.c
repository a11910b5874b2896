/* Chat templates, the way llama.cpp's C API does them (llama_chat_apply_template): the family
 * is guessed from marker strings in the Jinja source, which is never executed, and each family's
 * prompt layout is written out here. The output has no BOS: the tokenizer adds it.
 *
 * Family names are llama.cpp's, so a caller may pass either a Jinja template or a name such as
 * "chatml" to eq_chat_detect. Roles are passed through as llama.cpp does (chatml, phi3, ...
 * print any role; families with fixed role tokens drop roles they do not know).
 *
 * eq_chat_format: EQ_ERR_ARG for a NULL family, n < 0, msgs == NULL with n > 0, a message with a
 * NULL role or content, or a buffer too small (buf then holds a NUL-terminated prefix and *n_out
 * the full length, so a NULL/0 buffer is a size query); EQ_ERR_UNSUPPORTED for a family we do not
 * know. eq_chat_format_spans also lists where message contents landed, so that special-token
 * text inside them can stay plain text (src/chat_tokenize.c).
 *
 * Non-ASCII text in the literals below is written as \x escapes (UTF-8) so the file does not
 * depend on the compiler's source character set: \xef\xbd\x9c is U+FF5C (the fullwidth bar of
 * DeepSeek/Hunyuan tokens), \xe2\x96\x81 is U+2581 (SentencePiece's space mark); the rest is
 * Chinese (MiniCPM, Pangu) and Russian (Yandex) role words copied from llama.cpp.
 */
#include "chat.h"

#include <stdint.h>
#include <string.h>

typedef enum {
    F_UNKNOWN = 0,
    F_CHATML, F_LLAMA2, F_LLAMA2_SYS, F_LLAMA2_SYS_BOS, F_LLAMA2_SYS_STRIP,
    F_MISTRAL_V1, F_MISTRAL_V3, F_MISTRAL_V3_TEKKEN, F_MISTRAL_V7, F_MISTRAL_V7_TEKKEN,
    F_PHI3, F_PHI4, F_FALCON3, F_ZEPHYR, F_MONARCH, F_GEMMA, F_ORION, F_OPENCHAT, F_VICUNA,
    F_VICUNA_ORCA, F_DEEPSEEK, F_DEEPSEEK2, F_DEEPSEEK3, F_DEEPSEEK_OCR, F_COMMAND_R, F_LLAMA3,
    F_CHATGLM3, F_CHATGLM4, F_GLMEDGE, F_MINICPM, F_EXAONE3, F_EXAONE4, F_EXAONE_MOE,
    F_RWKV_WORLD, F_GRANITE, F_GRANITE_40, F_GRANITE_41, F_GIGACHAT, F_MEGREZ, F_YANDEX,
    F_BAILING, F_BAILING_THINK, F_BAILING2, F_LLAMA4, F_SMOLVLM, F_DOTS1, F_HUNYUAN_MOE,
    F_OPENAI_MOE, F_HUNYUAN_DENSE, F_HUNYUAN_VL, F_KIMI_K2, F_SEED_OSS, F_GROK2, F_PANGU_EMBED,
    F_SOLAR_OPEN,
    F_COUNT
} fam;

/* Index = fam. Names as llama.cpp spells them; all but "dots1" are also accepted by name there
 * (llama.cpp can only detect dots1, so we accept its name as a convenience). */
static const char *const FAM_NAMES[F_COUNT] = {
    NULL,
    "chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip",
    "mistral-v1", "mistral-v3", "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken",
    "phi3", "phi4", "falcon3", "zephyr", "monarch", "gemma", "orion", "openchat", "vicuna",
    "vicuna-orca", "deepseek", "deepseek2", "deepseek3", "deepseek-ocr", "command-r", "llama3",
    "chatglm3", "chatglm4", "glmedge", "minicpm", "exaone3", "exaone4", "exaone-moe",
    "rwkv-world", "granite", "granite-4.0", "granite-4.1", "gigachat", "megrez", "yandex",
    "bailing", "bailing-think", "bailing2", "llama4", "smolvlm", "dots1", "hunyuan-moe",
    "gpt-oss", "hunyuan-dense", "hunyuan-vl", "kimi-k2", "seed_oss", "grok-2", "pangu-embedded",
    "solar-open",
};

static fam fam_by_name(const char *name) {
    if (!name) return F_UNKNOWN;
    for (int i = 1; i < F_COUNT; i++)
        if (strcmp(FAM_NAMES[i], name) == 0) return (fam)i;
    return F_UNKNOWN;
}

/* ---- detection ---------------------------------------------------------------------------- */

/* The order of the tests matters (several templates carry more than one family's markers); it
 * is llama.cpp's order. */
static fam detect(const char *t) {
    fam f = fam_by_name(t);
    if (f != F_UNKNOWN && f != F_DOTS1) return f;
#define HAS(s) (strstr(t, (s)) != NULL)
    if (HAS("<|im_start|>")) {
        return HAS("<|im_sep|>") ? F_PHI4
             : HAS("<end_of_utterance>") ? F_SMOLVLM  /* <|im_start|> is its BOS, not chatml */
             : F_CHATML;
    } else if (strncmp(t, "mistral", 7) == 0 || HAS("[INST]")) {
        if (HAS("[SYSTEM_PROMPT]")) return F_MISTRAL_V7;
        if (HAS("' [INST] ' + system_message") || HAS("[AVAILABLE_TOOLS]")) {
            if (HAS(" [INST]")) return F_MISTRAL_V1;
            if (HAS("\"[INST]\"")) return F_MISTRAL_V3_TEKKEN;
            return F_MISTRAL_V3;
        }
        if (HAS("content.strip()")) return F_LLAMA2_SYS_STRIP;
        if (HAS("bos_token + '[INST]")) return F_LLAMA2_SYS_BOS;
        if (HAS("<<SYS>>")) return F_LLAMA2_SYS;
        return F_LLAMA2;
    } else if (HAS("<|assistant|>") && HAS("<|end|>")) {
        return F_PHI3;
    } else if (HAS("[gMASK]<sop>")) {
        return F_CHATGLM4;
    } else if (HAS("<|assistant|>") && HAS("<|user|>")) {
        if (HAS("<|tool_declare|>")) return F_EXAONE_MOE;
        return HAS("</s>") ? F_FALCON3 : F_GLMEDGE;
    } else if (HAS("<|{{ item['role'] }}|>") && HAS("<|begin_of_image|>")) {
        return F_GLMEDGE;
    } else if (HAS("<|user|>") && HAS("<|endoftext|>")) {
        return F_ZEPHYR;
    } else if (HAS("bos_token + message['role']")) {
        return F_MONARCH;
    } else if (HAS("<start_of_turn>")) {
        return F_GEMMA;
    } else if (HAS("'\\n\\nAssistant: ' + eos_token")) {
        return F_ORION;
    } else if (HAS("GPT4 Correct ")) {
        return F_OPENCHAT;
    } else if (HAS("USER: ") && HAS("ASSISTANT: ")) {
        return HAS("SYSTEM: ") ? F_VICUNA_ORCA : F_VICUNA;
    } else if (HAS("### Instruction:") && HAS("<|EOT|>")) {
        return F_DEEPSEEK;
    } else if (HAS("<|START_OF_TURN_TOKEN|>") && HAS("<|USER_TOKEN|>")) {
        return F_COMMAND_R;
    } else if (HAS("<|start_header_id|>") && HAS("<|end_header_id|>")) {
        return F_LLAMA3;
    } else if (HAS("[gMASK]sop")) {
        return F_CHATGLM3;
    } else if (HAS("<\xe7\x94\xa8\xe6\x88\xb7>")) {
        return F_MINICPM;
    } else if (HAS("'Assistant: ' + message['content'] + eos_token")) {
        return F_DEEPSEEK2;
    } else if (HAS("<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>") && HAS("<\xef\xbd\x9cUser\xef\xbd\x9c>") && HAS("<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>")) {
        return F_DEEPSEEK3;
    } else if (HAS("[|system|]") && HAS("[|assistant|]") && HAS("[|endofturn|]")) {
        return HAS("[|tool|]") ? F_EXAONE4 : F_EXAONE3;
    } else if (HAS("rwkv-world") || HAS("{{- 'User: ' + message['content']|trim + '\\n\\n' -}}")) {
        return F_RWKV_WORLD;
    } else if (HAS("<|start_of_role|>")) {
        if (HAS("<tool_call>") || HAS("<tools>"))
            return HAS("g4_default_system_message") ? F_GRANITE_40 : F_GRANITE_41;
        return F_GRANITE;
    } else if (HAS("message['role'] + additional_special_tokens[0] + message['content'] + additional_special_tokens[1]")) {
        return F_GIGACHAT;
    } else if (HAS("<|role_start|>")) {
        return F_MEGREZ;
    } else if (HAS(" \xd0\x90\xd1\x81\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbd\xd1\x82:")) {
        return F_YANDEX;
    } else if (HAS("<role>ASSISTANT</role>") && HAS("'HUMAN'")) {
        return F_BAILING;
    } else if (HAS("<role>ASSISTANT</role>") && HAS("\"HUMAN\"") && HAS("<think>")) {
        return F_BAILING_THINK;
    } else if (HAS("<role>ASSISTANT</role>") && HAS("<role>HUMAN</role>") && HAS("<|role_end|>")) {
        return F_BAILING2;
    } else if (HAS("<|header_start|>") && HAS("<|header_end|>")) {
        return F_LLAMA4;
    } else if (HAS("<|endofuserprompt|>")) {
        return F_DOTS1;
    } else if (HAS("<|extra_0|>") && HAS("<|extra_4|>")) {
        return F_HUNYUAN_MOE;
    } else if (HAS("<|start|>") && HAS("<|channel|>")) {
        return F_OPENAI_MOE;
    } else if (HAS("<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>") && HAS("<\xef\xbd\x9chy_begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>")) {
        return F_HUNYUAN_VL;
    } else if (HAS("<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>") && HAS("<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81" "3\xef\xbd\x9c>")) {
        return F_HUNYUAN_DENSE;
    } else if (HAS("<|im_assistant|>assistant<|im_middle|>")) {
        return F_KIMI_K2;
    } else if (HAS("<seed:bos>")) {
        return F_SEED_OSS;
    } else if (HAS("'Assistant: '  + message['content'] + '<|separator|>")) {
        return F_GROK2;
    } else if (HAS("[unused9]\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc\x9a[unused10]")) {
        return F_PANGU_EMBED;
    } else if (HAS("<|begin|>") && HAS("<|end|>") && HAS("<|content|>")) {
        return F_SOLAR_OPEN;
    }
#undef HAS
    return F_UNKNOWN;
}

const char *eq_chat_detect(const char *jinja_template) {
    if (!jinja_template) return NULL;
    fam f = detect(jinja_template);
    return f == F_UNKNOWN ? NULL : FAM_NAMES[f];
}

int eq_chat_known(const char *family) { return fam_by_name(family) != F_UNKNOWN; }

/* ---- output ------------------------------------------------------------------------------- */

/* Appends what fits (keeping room for the NUL) and counts everything, so one pass gives both
 * the truncated text and the full length. Message contents also go on the span list (same
 * contract: what fits is stored, all are counted), so the tokenizer can tell them apart from
 * the template's own text. */
typedef struct {
    char *buf; size_t cap, len; int overflow;
    eq_text_span *spans; size_t span_cap, n_spans, span_end;  /* span_end: where the last ends */
} wr;

static void put_n(wr *w, const char *s, size_t n) {
    if (n > SIZE_MAX - 1 - w->len) { w->overflow = 1; return; }
    if (w->buf && w->len + 1 < w->cap) {
        size_t room = w->cap - 1 - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    w->len += n;
}
static void put(wr *w, const char *s) { put_n(w, s, strlen(s)); }

/* content text: written like template text, and recorded as a span (contents written back to
 * back, as gemma's joined system texts are, make one span) */
static void put_content_n(wr *w, const char *s, size_t n) {
    size_t at = w->len;
    put_n(w, s, n);
    if (n == 0 || w->overflow) return;
    if (w->n_spans > 0 && w->span_end == at) {
        if (w->n_spans <= w->span_cap) w->spans[w->n_spans - 1].len += n;
    } else {
        if (w->n_spans < w->span_cap) w->spans[w->n_spans] = (eq_text_span){ at, n };
        w->n_spans++;
    }
    w->span_end = at + n;
}
static void put_c(wr *w, const char *s) { put_content_n(w, s, strlen(s)); }

/* llama.cpp's trim: C-locale isspace at both ends */
static int is_sp(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static void put_trim_c(wr *w, const char *s) {   /* only contents are trimmed */
    size_t a = 0, b = strlen(s);
    while (a < b && is_sp(s[a])) a++;
    while (b > a && is_sp(s[b - 1])) b--;
    put_content_n(w, s + a, b - a);
}
static int trims_empty(const char *s) {
    for (; *s; s++) if (!is_sp(*s)) return 0;
    return 1;
}

/* role with ASCII case changes (openchat capitalises, bailing upper-cases) */
static void put_role_case(wr *w, const char *role, int all) {
    for (size_t i = 0; role[i]; i++) {
        char c = role[i];
        if ((all || i == 0) && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        put_n(w, &c, 1);
    }
}

#define IS(r, s) (strcmp((r), (s)) == 0)

/* The families that write each message as  before, role, between, content, after  (the content
 * trimmed or not), after an optional preamble and before an optional assistant cue: one row each. */
typedef struct { fam f; const char *start, *before, *between, *after, *cue; int trim; } role_layout;
static const role_layout ROLE_LAYOUTS[] = {
    { F_CHATML,     "",             "<|im_start|>",        "\n",                  "<|im_end|>\n",    "<|im_start|>assistant\n", 0 },
    { F_PHI3,       "",             "<|",                  "|>\n",                "<|end|>\n",       "<|assistant|>\n", 0 },
    { F_PHI4,       "",             "<|im_start|>",        "<|im_sep|>",          "<|im_end|>",      "<|im_start|>assistant<|im_sep|>", 0 },
    { F_FALCON3,    "",             "<|",                  "|>\n",                "\n",              "<|assistant|>\n", 0 },
    { F_ZEPHYR,     "",             "<|",                  "|>\n",                "<|endoftext|>\n", "<|assistant|>\n", 0 },
    { F_LLAMA3,     "",             "<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>",    "<|start_header_id|>assistant<|end_header_id|>\n\n", 1 },
    { F_CHATGLM3,   "[gMASK]sop",   "<|",                  "|>\n ",               "",                "<|assistant|>", 0 },
    { F_CHATGLM4,   "[gMASK]<sop>", "<|",                  "|>\n",                "",                "<|assistant|>\n", 0 },
    { F_GLMEDGE,    "",             "<|",                  "|>\n",                "",                "<|assistant|>", 0 },
    { F_MEGREZ,     "",             "<|role_start|>",      "<|role_end|>",        "<|turn_end|>",    "<|role_start|>assistant<|role_end|>", 0 },
    { F_LLAMA4,     "",             "<|header_start|>",    "<|header_end|>\n\n",  "<|eot|>",         "<|header_start|>assistant<|header_end|>\n\n", 1 },
    { F_SOLAR_OPEN, "",             "<|begin|>",           "<|content|>",         "<|end|>",         "<|begin|>assistant", 0 },
};

/* The families with fixed words per role: each message is pre, content, post for its role
 * (system, user, assistant, tool, any other), the content trimmed where the row says so; a role
 * without words (pre NULL) is left out. cue NULL: no assistant prefix at all. */
typedef struct { const char *pre, *post; int trim; } turn;
typedef struct { fam f; const char *start; turn sys, user, ass, tool, other; const char *cue; } role_words;
#define DROP { NULL, NULL, 0 }
#define DS_EOS "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
#define DS_ASS "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"
#define CR_TURN(tok) { "<|START_OF_TURN_TOKEN|>" tok, "<|END_OF_TURN_TOKEN|>", 1 }
#define EX_TURN(tag) { "<|" tag "|>\n", "<|endofturn|>\n", 1 }
#define YA_ASS " \xd0\x90\xd1\x81\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbd\xd1\x82:"
static const role_words ROLE_WORDS[] = {
    { F_DEEPSEEK, "", { "", "", 0 }, { "### Instruction:\n", "\n", 0 }, { "### Response:\n", "\n<|EOT|>\n", 0 },
      DROP, DROP, "### Response:\n" },
    { F_DEEPSEEK2, "", { "", "\n\n", 0 }, { "User: ", "\n\n", 0 }, { "Assistant: ", DS_EOS, 0 },
      DROP, DROP, "Assistant:" },
    { F_DEEPSEEK3, "", { "", "\n\n", 0 }, { "<\xef\xbd\x9cUser\xef\xbd\x9c>", "", 0 }, { DS_ASS, DS_EOS, 0 },
      DROP, DROP, DS_ASS },
    { F_DEEPSEEK_OCR, "", { "", "", 0 }, { "", "", 0 }, { "", "", 0 }, { "", "", 0 }, { "", "", 0 }, NULL },  /* no template */
    { F_VICUNA, "", { "", "\n\n", 0 }, { "USER: ", "\n", 0 }, { "ASSISTANT: ", "</s>\n", 0 }, DROP, DROP, "ASSISTANT:" },
    { F_VICUNA_ORCA, "", { "SYSTEM: ", "\n", 0 }, { "USER: ", "\n", 0 }, { "ASSISTANT: ", "</s>\n", 0 }, DROP, DROP, "ASSISTANT:" },
    { F_COMMAND_R, "", CR_TURN("<|SYSTEM_TOKEN|>"), CR_TURN("<|USER_TOKEN|>"), CR_TURN("<|CHATBOT_TOKEN|>"),
      DROP, DROP, "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>" },
    { F_MINICPM, "", { "", "", 1 }, { "<\xe7\x94\xa8\xe6\x88\xb7>", "<AI>", 1 }, { "", "", 1 }, { "", "", 1 }, { "", "", 1 }, NULL },
    { F_EXAONE3, "", { "[|system|]", "[|endofturn|]\n", 1 }, { "[|user|]", "\n", 1 }, { "[|assistant|]", "[|endofturn|]\n", 1 },
      DROP, DROP, "[|assistant|]" },
    { F_EXAONE4, "", { "[|system|]", "[|endofturn|]\n", 1 }, { "[|user|]", "\n", 1 }, { "[|assistant|]", "[|endofturn|]\n", 1 },
      { "[|tool|]", "[|endofturn|]\n", 1 }, DROP, "[|assistant|]" },
    { F_EXAONE_MOE, "", EX_TURN("system"), EX_TURN("user"), EX_TURN("assistant"), EX_TURN("tool"), DROP, "<|assistant|>\n" },
    { F_YANDEX, "", DROP, { " \xd0\x9f\xd0\xbe\xd0\xbb\xd1\x8c\xd0\xb7\xd0\xbe\xd0\xb2\xd0\xb0\xd1\x82\xd0\xb5\xd0\xbb\xd1\x8c: ", "\n\n", 0 },
      { YA_ASS " ", "\n\n", 0 }, DROP, DROP, YA_ASS "[SEP]" },
    { F_SMOLVLM, "<|im_start|>", { "", "\n\n", 0 }, { "User: ", "<end_of_utterance>\n", 0 },
      { "Assistant: ", "<end_of_utterance>\n", 0 }, { "Assistant: ", "<end_of_utterance>\n", 0 },
      { "Assistant: ", "<end_of_utterance>\n", 0 }, "Assistant:" },
    { F_DOTS1, "", { "<|system|>", "<|endofsystem|>", 0 }, { "<|userprompt|>", "<|endofuserprompt|>", 0 },
      { "<|response|>", "<|endofresponse|>", 0 }, { "<|response|>", "<|endofresponse|>", 0 },
      { "<|response|>", "<|endofresponse|>", 0 }, "<|response|>" },
    { F_HUNYUAN_MOE, "", { "<|startoftext|>", "<|extra_4|>", 0 }, { "<|startoftext|>", "<|extra_0|>", 0 },
      { "", "<|eos|>", 0 }, { "<|startoftext|>", "<|extra_0|>", 0 }, { "<|startoftext|>", "<|extra_0|>", 0 }, NULL },
    { F_KIMI_K2, "", { "<|im_system|>system<|im_middle|>", "<|im_end|>", 0 }, { "<|im_user|>user<|im_middle|>", "<|im_end|>", 0 },
      { "<|im_assistant|>assistant<|im_middle|>", "<|im_end|>", 0 }, { "<|im_system|>tool<|im_middle|>", "<|im_end|>", 0 },
      { "", "<|im_end|>", 0 }, "<|im_assistant|>assistant<|im_middle|>" },
    { F_GROK2, "", { "System: ", "<|separator|>\n\n", 1 }, { "Human: ", "<|separator|>\n\n", 1 },
      { "Assistant: ", "<|separator|>\n\n", 0 }, DROP, DROP, "Assistant:" },
};
#undef DROP

static void put_content(wr *w, const char *s, int trim) {
    if (trim) put_trim_c(w, s); else put_c(w, s);
}

static void format_layout(const role_layout *L, const eq_chat_msg *m, int n, int add_ass, wr *w) {
    put(w, L->start);
    for (int i = 0; i < n; i++) {
        put(w, L->before); put(w, m[i].role); put(w, L->between);
        put_content(w, m[i].content, L->trim); put(w, L->after);
    }
    if (add_ass) put(w, L->cue);
}

static void format_words(const role_words *L, const eq_chat_msg *m, int n, int add_ass, wr *w) {
    put(w, L->start);
    for (int i = 0; i < n; i++) {
        const char *r = m[i].role;
        const turn *t = IS(r, "system") ? &L->sys : IS(r, "user") ? &L->user : IS(r, "assistant") ? &L->ass
                      : IS(r, "tool") ? &L->tool : &L->other;
        if (!t->pre) continue;
        put(w, t->pre); put_content(w, m[i].content, t->trim); put(w, t->post);
    }
    if (add_ass && L->cue) put(w, L->cue);
}

/* The families with a rule of their own (system texts moved into a turn, BOS inside the history,
 * roles re-cased, ...), each written out. */
static void format_own(fam f, const eq_chat_msg *m, int n, int add_ass, wr *w) {
    switch (f) {
    case F_MISTRAL_V7: case F_MISTRAL_V7_TEKKEN: {
        const char *sp = f == F_MISTRAL_V7 ? " " : "";
        for (int i = 0; i < n; i++) {
            if (IS(m[i].role, "system")) {
                put(w, "[SYSTEM_PROMPT]"); put(w, sp); put_c(w, m[i].content); put(w, "[/SYSTEM_PROMPT]");
            } else if (IS(m[i].role, "user")) {
                put(w, "[INST]"); put(w, sp); put_c(w, m[i].content); put(w, "[/INST]");
            } else {
                put(w, sp); put_c(w, m[i].content); put(w, "</s>");
            }
        }
        break;  /* no assistant prefix: the model continues after [/INST] */
    }

    case F_MISTRAL_V1: case F_MISTRAL_V3: case F_MISTRAL_V3_TEKKEN: {
        const char *lead = f == F_MISTRAL_V1 ? " " : "";
        const char *trail = f == F_MISTRAL_V3_TEKKEN ? "" : " ";
        int in_turn = 0;
        for (int i = 0; i < n; i++) {
            if (!in_turn) { put(w, lead); put(w, "[INST]"); put(w, trail); in_turn = 1; }
            if (IS(m[i].role, "system")) {
                put_c(w, m[i].content); put(w, "\n\n");
            } else if (IS(m[i].role, "user")) {
                put_c(w, m[i].content); put(w, lead); put(w, "[/INST]");
            } else {
                put(w, trail);
                if (f == F_MISTRAL_V3) put_trim_c(w, m[i].content); else put_c(w, m[i].content);
                put(w, "</s>");
                in_turn = 0;
            }
        }
        break;
    }

    case F_LLAMA2: case F_LLAMA2_SYS: case F_LLAMA2_SYS_BOS: case F_LLAMA2_SYS_STRIP: {
        int sys_ok = f != F_LLAMA2, bos_inside = f == F_LLAMA2_SYS_BOS, strip = f == F_LLAMA2_SYS_STRIP;
        int in_turn = 1;  /* the first [INST] is written up front, without BOS */
        put(w, "[INST] ");
        for (int i = 0; i < n; i++) {
            if (!in_turn) { in_turn = 1; put(w, bos_inside ? "<s>[INST] " : "[INST] "); }
            const char *r = m[i].role;
            if (IS(r, "system")) {
                if (sys_ok) put(w, "<<SYS>>\n");
                if (strip) put_trim_c(w, m[i].content); else put_c(w, m[i].content);
                put(w, sys_ok ? "\n<</SYS>>\n\n" : "\n");
            } else if (IS(r, "user")) {
                if (strip) put_trim_c(w, m[i].content); else put_c(w, m[i].content);
                put(w, " [/INST]");
            } else {
                if (strip) put_trim_c(w, m[i].content); else put_c(w, m[i].content);
                put(w, "</s>");
                in_turn = 0;
            }
        }
        break;
    }

    case F_MONARCH:
        for (int i = 0; i < n; i++) {
            if (i > 0) put(w, "<s>");  /* BOS inside the history, not before the first */
            put(w, m[i].role); put(w, "\n"); put_c(w, m[i].content); put(w, "</s>\n");
        }
        if (add_ass) put(w, "<s>assistant\n");
        break;

    case F_GEMMA: {
        /* no system role: system texts (trimmed, concatenated) open the next non-model turn */
        int sys_from = -1, sys_nonempty = 0;
        for (int i = 0; i < n; i++) {
            const char *r = m[i].role;
            if (IS(r, "system")) {
                if (sys_from < 0) sys_from = i;
                if (!trims_empty(m[i].content)) sys_nonempty = 1;
                continue;
            }
            if (IS(r, "assistant")) r = "model";
            put(w, "<start_of_turn>"); put(w, r); put(w, "\n");
            if (sys_nonempty && !IS(r, "model")) {
                for (int j = sys_from; j < i; j++)
                    if (IS(m[j].role, "system")) put_trim_c(w, m[j].content);
                put(w, "\n\n");
                sys_from = -1; sys_nonempty = 0;
            }
            put_trim_c(w, m[i].content); put(w, "<end_of_turn>\n");
        }
        if (add_ass) put(w, "<start_of_turn>model\n");
        break;
    }

    case F_ORION: {
        int sys_from = -1, sys_nonempty = 0;
        for (int i = 0; i < n; i++) {
            const char *r = m[i].role;
            if (IS(r, "system")) {
                if (sys_from < 0) sys_from = i;
                if (m[i].content[0]) sys_nonempty = 1;
            } else if (IS(r, "user")) {
                put(w, "Human: ");
                if (sys_nonempty) {
                    for (int j = sys_from; j < i; j++)
                        if (IS(m[j].role, "system")) put_c(w, m[j].content);
                    put(w, "\n\n");
                    sys_from = -1; sys_nonempty = 0;
                }
                put_c(w, m[i].content); put(w, "\n\nAssistant: </s>");
            } else {
                put_c(w, m[i].content); put(w, "</s>");
            }
        }
        break;
    }

    case F_OPENCHAT:
        for (int i = 0; i < n; i++) {
            if (IS(m[i].role, "system")) {
                put_c(w, m[i].content); put(w, "<|end_of_turn|>");
            } else {
                put(w, "GPT4 Correct "); put_role_case(w, m[i].role, 0); put(w, ": ");
                put_c(w, m[i].content); put(w, "<|end_of_turn|>");
            }
        }
        if (add_ass) put(w, "GPT4 Correct Assistant:");
        break;

    case F_RWKV_WORLD:
        /* needs "\n\n" as the model's EOT; the assistant cue follows a final user turn */
        for (int i = 0; i < n; i++) {
            const char *r = m[i].role;
            if (IS(r, "system")) { put(w, "System: "); put_trim_c(w, m[i].content); put(w, "\n\n"); }
            else if (IS(r, "user")) {
                put(w, "User: "); put_trim_c(w, m[i].content); put(w, "\n\n");
                if (i == n - 1) put(w, "Assistant:");
            } else if (IS(r, "assistant")) { put(w, "Assistant: "); put_trim_c(w, m[i].content); put(w, "\n\n"); }
        }
        break;

    case F_GRANITE:
        for (int i = 0; i < n; i++) {
            put(w, "<|start_of_role|>"); put(w, m[i].role); put(w, "<|end_of_role|>");
            if (IS(m[i].role, "assistant_tool_call")) put(w, "<|tool_call|>");
            put_c(w, m[i].content); put(w, "<|end_of_text|>\n");
        }
        if (add_ass) put(w, "<|start_of_role|>assistant<|end_of_role|>");
        break;

    case F_GRANITE_40: case F_GRANITE_41:
        for (int i = 0; i < n; i++) {
            if (IS(m[i].role, "assistant_tool_call")) {
                put(w, "<|start_of_role|>assistant<|end_of_role|><|tool_call|>");
            } else {
                put(w, "<|start_of_role|>"); put(w, m[i].role); put(w, "<|end_of_role|>");
            }
            put_c(w, m[i].content); put(w, "<|end_of_text|>\n");
        }
        if (add_ass) put(w, "<|start_of_role|>assistant<|end_of_role|>");
        break;

    case F_GIGACHAT: {
        int has_sys = n > 0 && IS(m[0].role, "system");
        put(w, "<s>");
        if (has_sys) { put_c(w, m[0].content); put(w, "<|message_sep|>"); }
        for (int i = has_sys; i < n; i++) {
            if (IS(m[i].role, "user")) {
                put(w, "user<|role_sep|>"); put_c(w, m[i].content);
                put(w, "<|message_sep|>available functions<|role_sep|>[]<|message_sep|>");
            } else if (IS(m[i].role, "assistant")) {
                put(w, "assistant<|role_sep|>"); put_c(w, m[i].content); put(w, "<|message_sep|>");
            }
        }
        if (add_ass) put(w, "assistant<|role_sep|>");
        break;
    }

    case F_BAILING: case F_BAILING_THINK: case F_BAILING2:
        if (f == F_BAILING2 && !(n > 0 && IS(m[0].role, "system")))
            put(w, "<role>SYSTEM</role>detailed thinking off<|role_end|>");
        for (int i = 0; i < n; i++) {
            put(w, "<role>");
            if (IS(m[i].role, "user")) put(w, "HUMAN"); else put_role_case(w, m[i].role, 1);
            put(w, "</role>"); put_c(w, m[i].content);
            if (f == F_BAILING2) put(w, "<|role_end|>");
        }
        if (add_ass) {
            put(w, "<role>ASSISTANT</role>");
            if (f == F_BAILING_THINK) put(w, "<think>");
        }
        break;

    case F_OPENAI_MOE:
        for (int i = 0; i < n; i++) {
            put(w, "<|start|>"); put(w, m[i].role); put(w, "<|message|>"); put_c(w, m[i].content);
            put(w, IS(m[i].role, "assistant") ? "<|return|>" : "<|end|>");
        }
        if (add_ass) put(w, "<|start|>assistant");
        break;

    case F_HUNYUAN_DENSE:
        for (int i = 0; i < n; i++) {
            const char *r = m[i].role;
            if (i == 0 && IS(r, "system")) { put_c(w, m[i].content); put(w, "<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81" "3\xef\xbd\x9c>"); }
            if (IS(r, "assistant")) {
                put(w, "<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>"); put_c(w, m[i].content); put(w, "<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81" "2\xef\xbd\x9c>");
            } else if (IS(r, "user")) {
                put(w, "<\xef\xbd\x9chy_User\xef\xbd\x9c>"); put_c(w, m[i].content); put(w, "<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>");
            }
        }
        break;

    case F_HUNYUAN_VL:
        put(w, "<\xef\xbd\x9chy_begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
        for (int i = 0; i < n; i++) {
            const char *r = m[i].role;
            if (i == 0 && IS(r, "system")) { put_c(w, m[i].content); put(w, "<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81" "3\xef\xbd\x9c>"); continue; }
            if (IS(r, "user")) { put_c(w, m[i].content); put(w, "<\xef\xbd\x9chy_User\xef\xbd\x9c>"); }
            else if (IS(r, "assistant")) { put_c(w, m[i].content); put(w, "<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>"); }
        }
        break;

    case F_SEED_OSS:
        for (int i = 0; i < n; i++) {
            put(w, "<seed:bos>"); put(w, m[i].role); put(w, "\n");
            if (IS(m[i].role, "assistant")) put_trim_c(w, m[i].content); else put_c(w, m[i].content);
            put(w, "<seed:eos>");
        }
        if (add_ass) put(w, "<seed:bos>assistant\n");
        break;

    case F_PANGU_EMBED:
        for (int i = 0; i < n; i++) {
            const char *r = m[i].role, *tag = NULL;
            if (i == 0 && !IS(r, "system")) put(w, "[unused9]\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc\x9a[unused10]");
            if (IS(r, "system")) tag = "[unused9]\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc\x9a";
            else if (IS(r, "user")) tag = "[unused9]\xe7\x94\xa8\xe6\x88\xb7\xef\xbc\x9a";
            else if (IS(r, "assistant")) tag = "[unused9]\xe5\x8a\xa9\xe6\x89\x8b\xef\xbc\x9a";
            else if (IS(r, "tool")) tag = "[unused9]\xe5\xb7\xa5\xe5\x85\xb7\xef\xbc\x9a";
            else if (IS(r, "function")) tag = "[unused9]\xe6\x96\xb9\xe6\xb3\x95\xef\xbc\x9a";
            if (tag) { put(w, tag); put_c(w, m[i].content); put(w, "[unused10]"); }
        }
        if (add_ass) put(w, "[unused9]\xe5\x8a\xa9\xe6\x89\x8b\xef\xbc\x9a");
        break;

    default:   /* the families in the tables above; F_UNKNOWN */
        break;
    }
}

static void format(fam f, const eq_chat_msg *m, int n, int add_ass, wr *w) {
    for (size_t i = 0; i < sizeof ROLE_LAYOUTS / sizeof *ROLE_LAYOUTS; i++)
        if (ROLE_LAYOUTS[i].f == f) { format_layout(&ROLE_LAYOUTS[i], m, n, add_ass, w); return; }
    for (size_t i = 0; i < sizeof ROLE_WORDS / sizeof *ROLE_WORDS; i++)
        if (ROLE_WORDS[i].f == f) { format_words(&ROLE_WORDS[i], m, n, add_ass, w); return; }
    format_own(f, m, n, add_ass, w);
}

eq_status eq_chat_format(const char *family, const eq_chat_msg *msgs, int n, int add_assistant,
                         char *buf, size_t cap, size_t *n_out) {
    return eq_chat_format_spans(family, msgs, n, add_assistant, buf, cap, n_out, NULL, 0, NULL);
}

eq_status eq_chat_format_spans(const char *family, const eq_chat_msg *msgs, int n, int add_assistant,
                               char *buf, size_t cap, size_t *n_out,
                               eq_text_span *spans, size_t span_cap, size_t *n_spans) {
    if (n_out) *n_out = 0;
    if (n_spans) *n_spans = 0;
    if (buf && cap) buf[0] = '\0';
    if (!family || n < 0 || (n > 0 && !msgs) || (span_cap && !spans)) return EQ_ERR_ARG;
    fam f = fam_by_name(family);
    if (f == F_UNKNOWN) return EQ_ERR_UNSUPPORTED;
    for (int i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content) return EQ_ERR_ARG;

    wr w = { buf, buf ? cap : 0, 0, 0, spans, spans ? span_cap : 0, 0, 0 };
    format(f, msgs, n, add_assistant, &w);
    if (w.overflow) return EQ_ERR_NOMEM;
    if (n_out) *n_out = w.len;
    if (n_spans) *n_spans = w.n_spans;
    if (w.cap) buf[w.len < w.cap ? w.len : w.cap - 1] = '\0';
    return w.len < w.cap && (!n_spans || w.n_spans <= w.span_cap) ? EQ_OK : EQ_ERR_ARG;
}
