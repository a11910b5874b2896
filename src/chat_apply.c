/* The public chat-template entry points on a model: which family its template is, and the
 * prompt as text. Here, above the models, so that models/ needs nothing from chat. */
#include "chat.h"
#include "models/model.h"

const char *eq_chat_template_name(const eq_model *m) {
    return m->chat_template ? eq_chat_detect(m->chat_template) : NULL;
}

eq_status eq_chat_apply(const eq_model *m, const char *tmpl_name, const eq_chat_msg *msgs, int n, int add_assistant,
                        char *buf, size_t cap, size_t *n_out) {
    const char *family = tmpl_name ? tmpl_name : eq_chat_template_name(m);
    if (!family) family = "chatml";  /* llama.cpp's fallback when a model has no known template */
    if (!eq_chat_known(family)) return EQ_ERR_UNSUPPORTED;
    return eq_chat_format(family, msgs, n, add_assistant, buf, cap, n_out);
}
