/* Chat templates: family detection from Jinja sources and the exact prompt text per family
 * (expected strings written out by hand; tests/conformance/chat checks the same against
 * llama.cpp itself). Also the buffer contract and bad arguments. */
#include "chat.h"
#include "eqtest.h"

#include <string.h>

static const eq_chat_msg SYS_CONV[] = {
    { "system", "Be brief." }, { "user", "Hi" }, { "assistant", "Hello!" }, { "user", "2+2?" },
};
/* padded contents: families that trim show it */
static const eq_chat_msg PLAIN_CONV[] = {
    { "user", " Hi\n" }, { "assistant", " Hello! " }, { "user", "Bye" },
};

static char out[4096];

/* format conv with family and compare with want */
static int fmt_is(const char *fam, const eq_chat_msg *m, int n, int add, const char *want) {
    size_t len = 0;
    eq_status st = eq_chat_format(fam, m, n, add, out, sizeof out, &len);
    if (st != EQ_OK || len != strlen(want) || strcmp(out, want) != 0) {
        fprintf(stderr, "  %s add=%d status=%d\n  want: \"%s\"\n  got:  \"%s\"\n", fam, add, st, want, out);
        return 0;
    }
    return 1;
}
#define SYS SYS_CONV, 4
#define PLAIN PLAIN_CONV, 3

static void test_detect(void) {
    /* excerpts of real templates */
    CHECK(strcmp(eq_chat_detect("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"), "chatml") == 0);
    /* Qwen2.5 and SmolLM2 are chatml too (their default system prompts live in the Jinja we
     * do not run, as in llama.cpp) */
    CHECK(strcmp(eq_chat_detect("{%- if tools %}{{- '<|im_start|>system\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud.<|im_end|>\\n' }}"), "chatml") == 0);
    CHECK(strcmp(eq_chat_detect("{{- bos_token }}{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}{{- '<|eot_id|>' }}"), "llama3") == 0);
    CHECK(strcmp(eq_chat_detect("{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{{ '<|assistant|>\n' }}"), "phi3") == 0);
    CHECK(strcmp(eq_chat_detect("{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|>'}}"), "phi4") == 0);
    CHECK(strcmp(eq_chat_detect("{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"), "gemma") == 0);
    CHECK(strcmp(eq_chat_detect("{{ '<|user|>\n' + message['content'] + '<|endoftext|>' }}"), "zephyr") == 0);
    CHECK(strcmp(eq_chat_detect("{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{{ '<<SYS>>\\n' }}"), "llama2-sys-strip") == 0);
    CHECK(strcmp(eq_chat_detect("{{ bos_token + '[INST] ' + message['content'] }}"), "llama2-sys-bos") == 0);
    CHECK(strcmp(eq_chat_detect("{{ '[INST] <<SYS>>\\n' + message['content'] }}"), "llama2-sys") == 0);
    CHECK(strcmp(eq_chat_detect("{{ '[INST] ' + message['content'] + ' [/INST]' }}"), "llama2") == 0);
    CHECK(strcmp(eq_chat_detect("{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] }}"), "mistral-v1") == 0);
    CHECK(strcmp(eq_chat_detect("{{- '[AVAILABLE_TOOLS] [' }}{{- '[INST] ' + message['content'] + '[/INST]' }}"), "mistral-v3") == 0);
    CHECK(strcmp(eq_chat_detect("{{- \"[AVAILABLE_TOOLS][\" }}{{- \"[INST]\" + message[\"content\"] + \"[/INST]\" }}"), "mistral-v3-tekken") == 0);
    CHECK(strcmp(eq_chat_detect("{{- '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}{{- '[INST]' }}"), "mistral-v7") == 0);
    CHECK(strcmp(eq_chat_detect("mistral"), "llama2") == 0);   /* a "mistral..." prefix is llama2 */
    /* order matters: <|im_start|> wins over everything after it */
    CHECK(strcmp(eq_chat_detect("<|im_start|> <start_of_turn> <|start_header_id|><|end_header_id|>"), "chatml") == 0);
    CHECK(strcmp(eq_chat_detect("<|im_start|> <end_of_utterance>"), "smolvlm") == 0);
    /* names are accepted as they are */
    CHECK(strcmp(eq_chat_detect("gemma"), "gemma") == 0);
    CHECK(strcmp(eq_chat_detect("llama2-sys-bos"), "llama2-sys-bos") == 0);
    /* unknown */
    CHECK(eq_chat_detect("{{ messages }}") == NULL);
    CHECK(eq_chat_detect("") == NULL);
    CHECK(eq_chat_detect(NULL) == NULL);

    CHECK(eq_chat_known("chatml") && eq_chat_known("llama3") && eq_chat_known("phi3"));
    CHECK(eq_chat_known("phi4") && eq_chat_known("gemma") && eq_chat_known("zephyr"));
    CHECK(eq_chat_known("llama2") && eq_chat_known("mistral-v7-tekken"));
    CHECK(!eq_chat_known("ChatML") && !eq_chat_known("") && !eq_chat_known(NULL));
}

static void test_chatml(void) {
    CHECK(fmt_is("chatml", SYS, 1,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
        "<|im_start|>assistant\n"));
    CHECK(fmt_is("chatml", PLAIN, 0,
        "<|im_start|>user\n Hi\n<|im_end|>\n<|im_start|>assistant\n Hello! <|im_end|>\n"
        "<|im_start|>user\nBye<|im_end|>\n"));
    /* other roles pass through */
    eq_chat_msg tool[] = { { "tool", "{\"x\":1}" } };
    CHECK(fmt_is("chatml", tool, 1, 0, "<|im_start|>tool\n{\"x\":1}<|im_end|>\n"));
    CHECK(fmt_is("chatml", NULL, 0, 1, "<|im_start|>assistant\n"));
    CHECK(fmt_is("chatml", NULL, 0, 0, ""));
}

static void test_llama3(void) {
    CHECK(fmt_is("llama3", SYS, 1,
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"));
    CHECK(fmt_is("llama3", PLAIN, 0,   /* contents are trimmed */
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"));
}

static void test_phi(void) {
    CHECK(fmt_is("phi3", SYS, 1,
        "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
        "<|user|>\n2+2?<|end|>\n<|assistant|>\n"));
    CHECK(fmt_is("phi3", PLAIN, 0,
        "<|user|>\n Hi\n<|end|>\n<|assistant|>\n Hello! <|end|>\n<|user|>\nBye<|end|>\n"));
    CHECK(fmt_is("phi4", SYS, 1,
        "<|im_start|>system<|im_sep|>Be brief.<|im_end|><|im_start|>user<|im_sep|>Hi<|im_end|>"
        "<|im_start|>assistant<|im_sep|>Hello!<|im_end|><|im_start|>user<|im_sep|>2+2?<|im_end|>"
        "<|im_start|>assistant<|im_sep|>"));
}

static void test_gemma(void) {
    /* the system text joins the first user turn; assistant is "model"; contents trimmed */
    CHECK(fmt_is("gemma", SYS, 1,
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\n2+2?<end_of_turn>\n"
        "<start_of_turn>model\n"));
    CHECK(fmt_is("gemma", PLAIN, 0,
        "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n"));
    /* a system message after the first turn waits for the next user turn, past model turns;
     * several are concatenated trimmed */
    eq_chat_msg late[] = { { "user", "Q1" }, { "system", " A " }, { "assistant", "R1" },
                           { "system", "B\n" }, { "user", "Q2" } };
    CHECK(fmt_is("gemma", late, 5, 0,
        "<start_of_turn>user\nQ1<end_of_turn>\n<start_of_turn>model\nR1<end_of_turn>\n"
        "<start_of_turn>user\nAB\n\nQ2<end_of_turn>\n"));
    /* an all-blank system prompt adds nothing */
    eq_chat_msg blank[] = { { "system", "  " }, { "user", "Q" } };
    CHECK(fmt_is("gemma", blank, 2, 1, "<start_of_turn>user\nQ<end_of_turn>\n<start_of_turn>model\n"));
}

static void test_zephyr(void) {
    CHECK(fmt_is("zephyr", SYS, 1,
        "<|system|>\nBe brief.<|endoftext|>\n<|user|>\nHi<|endoftext|>\n"
        "<|assistant|>\nHello!<|endoftext|>\n<|user|>\n2+2?<|endoftext|>\n<|assistant|>\n"));
}

static void test_llama2_mistral(void) {
    /* llama2 family: no assistant prefix (add_assistant has no effect), system folded in */
    CHECK(fmt_is("llama2", SYS, 1,
        "[INST] Be brief.\nHi [/INST]Hello!</s>[INST] 2+2? [/INST]"));
    CHECK(fmt_is("llama2-sys", SYS, 0,
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]Hello!</s>[INST] 2+2? [/INST]"));
    CHECK(fmt_is("llama2-sys-bos", SYS, 0,
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]Hello!</s><s>[INST] 2+2? [/INST]"));
    CHECK(fmt_is("llama2-sys-strip", PLAIN, 0,
        "[INST] Hi [/INST]Hello!</s>[INST] Bye [/INST]"));
    CHECK(fmt_is("llama2", NULL, 0, 1, "[INST] "));

    CHECK(fmt_is("mistral-v1", SYS, 1,
        " [INST] Be brief.\n\nHi [/INST] Hello!</s> [INST] 2+2? [/INST]"));
    CHECK(fmt_is("mistral-v3", PLAIN, 1,   /* v3 trims assistant turns only */
        "[INST]  Hi\n[/INST] Hello!</s>[INST] Bye[/INST]"));
    CHECK(fmt_is("mistral-v3-tekken", SYS, 1,
        "[INST]Be brief.\n\nHi[/INST]Hello!</s>[INST]2+2?[/INST]"));
    CHECK(fmt_is("mistral-v7", SYS, 1,
        "[SYSTEM_PROMPT] Be brief.[/SYSTEM_PROMPT][INST] Hi[/INST] Hello!</s>[INST] 2+2?[/INST]"));
    CHECK(fmt_is("mistral-v7-tekken", SYS, 1,
        "[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][INST]Hi[/INST]Hello!</s>[INST]2+2?[/INST]"));
}

static void test_others(void) {
    /* a few more families, one case each */
    eq_chat_msg c[] = { { "system", "S" }, { "user", "U" }, { "assistant", "A" } };
    CHECK(fmt_is("falcon3", c, 3, 1, "<|system|>\nS\n<|user|>\nU\n<|assistant|>\nA\n<|assistant|>\n"));
    CHECK(fmt_is("command-r", c, 3, 1,
        "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>S<|END_OF_TURN_TOKEN|>"
        "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>U<|END_OF_TURN_TOKEN|>"
        "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>A<|END_OF_TURN_TOKEN|>"
        "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"));
    CHECK(fmt_is("openchat", c, 3, 1,
        "S<|end_of_turn|>GPT4 Correct User: U<|end_of_turn|>GPT4 Correct Assistant: A<|end_of_turn|>"
        "GPT4 Correct Assistant:"));
    CHECK(fmt_is("deepseek3", c, 3, 1,
        "S\n\n<\xef\xbd\x9cUser\xef\xbd\x9c>U<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>A"
        "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"
        "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"));
    CHECK(fmt_is("gpt-oss", c, 3, 1,
        "<|start|>system<|message|>S<|end|><|start|>user<|message|>U<|end|>"
        "<|start|>assistant<|message|>A<|return|><|start|>assistant"));
    CHECK(fmt_is("bailing2", c + 1, 2, 1,
        "<role>SYSTEM</role>detailed thinking off<|role_end|><role>HUMAN</role>U<|role_end|>"
        "<role>ASSISTANT</role>A<|role_end|><role>ASSISTANT</role>"));
}

static void test_buffer(void) {
    size_t need = 0;
    /* size query */
    CHECK(eq_chat_format("chatml", SYS, 1, NULL, 0, &need) == EQ_ERR_ARG);
    CHECK(need == 162);   /* strlen of the add_assistant text in test_chatml */
    char small[16];
    memset(small, 'x', sizeof small);
    size_t n2 = 0;
    CHECK(eq_chat_format("chatml", SYS, 1, small, sizeof small, &n2) == EQ_ERR_ARG);
    CHECK(n2 == need);
    CHECK(small[15] == '\0' && strncmp(small, "<|im_start|>sys", 15) == 0);
    /* exactly enough: need + 1 for the NUL */
    char *exact = malloc(need + 1);
    CHECK(eq_chat_format("chatml", SYS, 1, exact, need + 1, &n2) == EQ_OK && n2 == need);
    CHECK(exact[need] == '\0' && strlen(exact) == need);
    /* one short: error, NUL-terminated prefix */
    CHECK(eq_chat_format("chatml", SYS, 1, exact, need, &n2) == EQ_ERR_ARG && n2 == need);
    CHECK(strlen(exact) == need - 1);
    free(exact);
    char one[1] = { 'x' };
    CHECK(eq_chat_format("chatml", SYS, 1, one, 1, &n2) == EQ_ERR_ARG && one[0] == '\0');
    /* n_out may be NULL */
    CHECK(eq_chat_format("chatml", SYS, 1, out, sizeof out, NULL) == EQ_OK);
}

static void test_bad_args(void) {
    size_t n = 0;
    CHECK(eq_chat_format(NULL, SYS, 1, out, sizeof out, &n) == EQ_ERR_ARG);
    CHECK(eq_chat_format("no-such-family", SYS, 1, out, sizeof out, &n) == EQ_ERR_UNSUPPORTED);
    CHECK(eq_chat_format("chatml", SYS_CONV, -1, 1, out, sizeof out, &n) == EQ_ERR_ARG);
    CHECK(eq_chat_format("chatml", NULL, 2, 1, out, sizeof out, &n) == EQ_ERR_ARG);
    eq_chat_msg bad1[] = { { "user", "ok" }, { NULL, "x" } };
    eq_chat_msg bad2[] = { { "user", NULL } };
    CHECK(eq_chat_format("chatml", bad1, 2, 1, out, sizeof out, &n) == EQ_ERR_ARG);
    CHECK(eq_chat_format("gemma", bad2, 1, 1, out, sizeof out, &n) == EQ_ERR_ARG);
    /* empty roles and contents are fine */
    eq_chat_msg empty[] = { { "", "" } };
    CHECK(eq_chat_format("openchat", empty, 1, 0, out, sizeof out, &n) == EQ_OK);
    CHECK(strcmp(out, "GPT4 Correct : <|end_of_turn|>") == 0);
}

int main(void) {
    test_detect();
    test_chatml();
    test_llama3();
    test_phi();
    test_gemma();
    test_zephyr();
    test_llama2_mistral();
    test_others();
    test_buffer();
    test_bad_args();
    return eqt_done();
}
