// The imports of the WebGPU backend (src/backend/webgpu/webgpu.c), linked into the Emscripten
// modules with --js-library. Each forwards to Module.eqGpu, the Device of wasm/web/webgpu.js
// that js/src/engine.js installs before loading a model for the GPU; Device never throws into
// wasm (a failure is recorded and reported by submit / eqgpu_error). Written out one by one:
// Emscripten copies these functions' source text into the module.
mergeInto(LibraryManager.library, {
  eqgpu_buffer: function (bytes) { return Module['eqGpu'].buffer(bytes); },
  eqgpu_weight: function (type, ne0, ne1, data, nbytes, err, errlen) { return Module['eqGpu'].weight(type, ne0, ne1, data, nbytes, err, errlen); },
  eqgpu_release: function (h) { if (Module['eqGpu']) Module['eqGpu'].release(h); },
  eqgpu_write: function (h, offset, src, bytes) { Module['eqGpu'].write(h, offset, src, bytes); },
  eqgpu_batch_new: function () { return Module['eqGpu'].batchNew(); },
  eqgpu_batch_free: function (b) { if (Module['eqGpu']) Module['eqGpu'].release(b); },
  eqgpu_embed: function (b, w, ids, y, T) { Module['eqGpu'].embed(b, w, ids, y, T); },
  eqgpu_rmsnorm: function (b, x, x_off, wn, y, n, T, eps) { Module['eqGpu'].rmsnorm(b, x, x_off, wn, y, n, T, eps); },
  eqgpu_matmul: function (b, w, x, y, T) { Module['eqGpu'].matmul(b, w, x, y, T); },
  eqgpu_bias: function (b, bias, y, n, T) { Module['eqGpu'].bias(b, bias, y, n, T); },
  eqgpu_copy: function (b, x, x_off, x_ld, y, n, T) { Module['eqGpu'].copy(b, x, x_off, x_ld, y, n, T); },
  eqgpu_rope: function (b, x, n_head, head_dim, n_rot, mode, pos0, T, theta_scale, freq_scale, attn_factor, ext_factor, corr0, corr1, yarn_mscale, ff) {
    Module['eqGpu'].rope(b, x, n_head, head_dim, n_rot, mode, pos0, T, theta_scale, freq_scale, attn_factor, ext_factor, corr0, corr1, yarn_mscale, ff);
  },
  eqgpu_scale: function (b, y, n, T, s) { Module['eqGpu'].scale(b, y, n, T, s); },
  eqgpu_store_kv: function (b, src, cache, kv_dim, T, pos0) { Module['eqGpu'].storeKV(b, src, cache, kv_dim, T, pos0); },
  eqgpu_attention: function (b, q, kc, vc, o, n_head, n_head_kv, head_dim, pos0, T, scale, window) {
    Module['eqGpu'].attention(b, q, kc, vc, o, n_head, n_head_kv, head_dim, pos0, T, scale, window);
  },
  eqgpu_glu: function (b, gelu, g, g_ld, u, u_off, u_ld, y, n, T) { Module['eqGpu'].glu(b, gelu, g, g_ld, u, u_off, u_ld, y, n, T); },
  eqgpu_softcap: function (b, y, n, T, cap) { Module['eqGpu'].softcap(b, y, n, T, cap); },
  eqgpu_add: function (b, x, y, n, T) { Module['eqGpu'].add(b, x, y, n, T); },
  eqgpu_finite: function (b, x, n, T, key0, fault) { Module['eqGpu'].finite(b, x, n, T, key0, fault); },
  eqgpu_argmax: function (b, x, off, n, res) { Module['eqGpu'].argmax(b, x, off, n, res); },
  eqgpu_submit: function (b, logits, bytes, fault, host) { return Module['eqGpu'].submit(b, logits, bytes, fault, host); },
  eqgpu_error: function (err, errlen) { if (Module['eqGpu']) Module['eqGpu'].error(err, errlen); },
});
