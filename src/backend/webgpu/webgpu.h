/* The WebGPU backend's C half (webgpu.c): it decides what each op of the seam dispatches;
 * the JavaScript runtime (wasm/web/webgpu.js) owns the device, the buffers and the pipelines,
 * and reaches C through the imports declared in webgpu.c (wasm/web/library_webgpu.js).
 * Only the Emscripten web build has those imports (EQ_HAVE_WEBGPU); elsewhere every entry
 * here answers EQ_ERR_UNSUPPORTED. */
#ifndef EQ_BACKEND_WEBGPU_H
#define EQ_BACKEND_WEBGPU_H

#include "backend/backend.h"

/* The context's backend; EQ_ERR_UNSUPPORTED (err says why) for what the kernels do not
 * cover: an F32 KV cache, a weight type without a kernel, head sizes past the attention
 * kernel's, a weight not on the device. */
eq_status eq_backend_webgpu_new(const eq_backend_params *p, eq_backend **out, char *err, size_t errlen);

/* The loader's upload hook (eq_upload_fn) for EQ_DEVICE_WEBGPU: copies the tensor to a GPU
 * buffer and stores the handle in t->dev. A tensor the device refuses is not an error of the
 * load: `user` (an eq_webgpu_upload_state) keeps the first reason, and t->dev stays NULL. */
typedef struct {
    char err[160];   /* empty while every tensor went up */
    uint64_t bytes;  /* bytes placed on the device */
} eq_webgpu_upload_state;
eq_status eq_webgpu_upload(void *user, int part, eq_gguf_tensor *t, char *err, size_t errlen);

/* Whether the GPU's matrix kernels read weights of this type (0 in builds without WebGPU). */
int eq_webgpu_has_kernel(int type);

/* Free a tensor's device copy (the model's, at eq_model_free). */
void eq_webgpu_release(void *dev);

#endif
