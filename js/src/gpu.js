// The WebGPU path's start: an adapter and a device at core limits (no shader-f16 needed), every
// kernel compiled once (createComputePipelineAsync), and the Device the C backend calls
// (wasm/web/webgpu.js, copied with the WGSL inlined into wasm/webgpu.js by scripts/build.sh).
// The module is imported only when a GPU is wanted.
import { EdgeqError } from './errors.js';

const DEVICES = ['auto', 'webgpu', 'cpu'];

/**
 * device: 'auto' (the GPU when there is one, else the CPU), 'webgpu' (the GPU or an error),
 * 'cpu'. gpu: a WebGPU implementation's GPU object (Node: the `webgpu` package's create());
 * default navigator.gpu. maxBufferBytes: split weights under this many bytes per buffer
 * (tests; default the device's limit). Returns { dev, info, reason }: dev null on the CPU path,
 * reason why (null when the GPU is used).
 */
export async function openGpu({ device = 'auto', gpu, maxBufferBytes } = {}) {
  if (!DEVICES.includes(device)) throw new EdgeqError('ARG', `device must be 'auto', 'webgpu' or 'cpu', not '${device}'`);
  if (device === 'cpu') return { dev: null, info: null, reason: "device 'cpu' was asked for" };
  const g = gpu ?? globalThis.navigator?.gpu;
  let reason;
  if (!g) {
    reason = 'this environment has no WebGPU (navigator.gpu)';
  } else {
    try {
      const mod = await import('../wasm/webgpu.js');
      const t0 = Date.now();
      const rt = await mod.createRuntime({ gpu: g, sources: mod.WGSL, maxBinding: maxBufferBytes, types: [] });
      const info = { ...rt.info, pipelineMs: Date.now() - t0, maxBufferBytes: rt.maxChunk };
      return { dev: new mod.Device(rt, null), info, reason: null };
    } catch (e) {
      reason = e && e.message ? e.message.replace(/^webgpu: /, '') : String(e);
    }
  }
  if (device === 'webgpu') throw new EdgeqError('UNSUPPORTED', `WebGPU is not available: ${reason}`);
  return { dev: null, info: null, reason };
}
