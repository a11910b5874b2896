// Types for the `edgeq` package (the same API in browsers and Node).

export type ErrorCodeName =
  | 'IO' | 'FORMAT' | 'UNSUPPORTED' | 'NOMEM' | 'ARG' | 'CONTEXT_FULL' | 'ABORTED'
  | 'HTTP' | 'NETWORK' | 'DISPOSED' | 'RUNTIME' | 'GPU_LOST';

export declare const ErrorCode: Readonly<{ [K in ErrorCodeName]: K }>;

/** Every failure is an EdgeqError with a stable code. */
export declare class EdgeqError extends Error {
  constructor(code: ErrorCodeName, message: string, extra?: { status?: number; cause?: unknown });
  readonly name: 'EdgeqError';
  readonly code: ErrorCodeName;
  /** HTTP status, for code 'HTTP'. */
  readonly status?: number;
}

/** A model source: URL (string or URL; relative to the page in browsers), a File/Blob, a local
 * path or file: URL (Node), or the parts of a llama.cpp split model in any order. A single
 * `name-00001-of-0000N.gguf` URL or path pulls in its siblings, fetched in parallel. */
export type ModelSource = string | URL | Blob | Array<string | URL | Blob> | FileList;

export interface Progress {
  /** Bytes received so far (all parts). */
  loaded: number;
  /** Bytes expected in all, 0 while unknown (no Content-Length). */
  total: number;
}

export interface LoadEvent {
  type: 'cache-hit' | 'cached' | 'cache-failed' | 'resumed' | 'restarted';
  url: string;
  offset?: number;
}

export interface LoadOptions {
  onProgress?: (p: Progress) => void;
  /** Cancels the load; it rejects with EdgeqError code 'ABORTED' and frees its memory. */
  signal?: AbortSignal;
  /** Threads for inference. Browser: > 1 needs a cross-origin isolated page (default: the
   * core count, capped at 8, when isolated, else 1). Node: default the core count (max 8). */
  threads?: number;
  /** Context size in tokens (default: the model's training context, capped at 4096). */
  contextSize?: number;
  /** Prompt tokens evaluated per step (default 256). */
  batchSize?: number;
  kvType?: 'f16' | 'f32';
  /** Browsers: keep downloads in the Cache API and reuse them (default true). Never required:
   * when caching fails the model still streams straight into memory. */
  cache?: boolean;
  /** Load the tokenizer and metadata only. */
  vocabOnly?: boolean;
  /** Diagnostics: cache hits, resumed downloads. */
  onEvent?: (e: LoadEvent) => void;
  /** Browsers: where the worker script lives (default: next to this module). */
  workerUrl?: string | URL;
  /** Where inference runs. 'auto' (default): WebGPU when there is an adapter and the model's
   * kernels fit it, else the CPU (the reason in info().runtime.fallbackReason, and a warning
   * when a GPU was there but could not be used); 'webgpu': WebGPU or an UNSUPPORTED error;
   * 'cpu'. No 'shader-f16' needed. A GPU lost mid-generation rejects with GPU_LOST and the
   * next call runs on the CPU (the model streamed in again from its source, unless
   * gpuHostCopy kept it in wasm memory). */
  device?: 'auto' | 'webgpu' | 'cpu';
  /** Node: a WebGPU implementation's GPU object (Node has no navigator.gpu), e.g. the
   * `webgpu` package's create(['backend=vulkan']). Keep it referenced while the model lives. */
  gpu?: unknown;
  /** Tests: split weights into GPU buffers of at most this many bytes (default: the device's
   * binding limit). */
  gpuMaxBufferBytes?: number;
  /** On the GPU, keep the weights in wasm memory too (memory is then the model twice): a CPU
   * fallback (a lost device, a kernel missing) starts at once. Default false: tensors stream
   * through one reused block (wasm memory: about the largest tensor), and a fallback loads
   * the model again from its source. */
  gpuHostCopy?: boolean;
}

export interface GpuRuntimeInfo {
  adapter: { vendor?: string; architecture?: string; device?: string; description?: string };
  features: string[];
  limits: Record<string, number>;
  /** barrier-free kernels for a CPU implementation of WebGPU (SwiftShader, lavapipe) */
  cpuKernels: boolean;
  /** time to compile the kernels that do not depend on a weight type */
  pipelineMs: number;
  maxBufferBytes: number;
  gpuBytes: number;
  peakGpuBytes: number;
  /** the model's tensors on the GPU, in their GGUF blocks */
  weightBytes: number;
  submits: number;
  dispatches: number;
  /** bytes mapped back from the GPU, all steps (the fault word + logits, or the greedy token) */
  readbackBytes: number;
  /** ... for the step submitted last: 16 + 4 for a greedy token, 16 + 4 * nVocab with logits */
  lastReadbackBytes: number;
}

export interface SamplingOptions {
  /** 0 = greedy. Default 0.8. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  /** Any integer: the same seed gives the same tokens. None: a fresh random seed each time. */
  seed?: number;
}

export interface CompleteOptions extends SamplingOptions {
  maxTokens?: number;
  /** Generation stops before any of these strings (they are not returned). */
  stop?: string | string[];
  signal?: AbortSignal;
  /** Add BOS as the vocabulary asks (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as "<|im_end|>" into its token (default true). */
  parseSpecial?: boolean;
  /** Keep generating past end-of-generation tokens (they add no text): benchmarks. */
  ignoreEos?: boolean;
  /** false: evaluate the whole prompt, without reusing the cached prefix (default true). */
  cachePrompt?: boolean;
}

/** Counts and timings of the last generation (llm.stats). */
export interface GenerationStats {
  promptTokens: number;
  /** prompt tokens reused from the KV cache (not evaluated again) */
  cachedTokens: number;
  completionTokens: number;
  /** from the request to the first generated token */
  promptMs: number;
  /** from the first to the last generated token */
  generationMs: number;
  promptTokensPerSecond: number;
  tokensPerSecond: number;
  finishReason: 'stop' | 'length' | null;
  /** The sampler's seed (drawn at random when none was given): pass it to repeat the reply. */
  seed: number | null;
}

export interface TensorInfo { name: string; type: string; shape: number[]; }

export interface ModelInfo {
  architecture: string;
  name: string | null;
  nVocab: number;
  nCtxTrain: number;
  nEmbd: number;
  nLayer: number;
  nParams: number;
  /** Bytes of tensor data. */
  sizeBytes: number;
  /** The chat template family recognised, or null. */
  chatTemplate: string | null;
  tokens: { bos: number | null; eos: number | null; eot: number | null };
  /** Tensor count per type, e.g. { Q4_K: 200, F32: 60 }. */
  tensorTypes: Record<string, number>;
  tensors: TensorInfo[];
  /** GGUF metadata as text (arrays summarised). */
  metadata: Record<string, string | null>;
  runtime: {
    threaded: boolean; threads: number; contextSize: number; memoryBytes: number;
    /** the module's build: 'relaxed' (relaxed-SIMD kernels, browsers that have it) or 'simd128' */
    simd: 'simd128' | 'relaxed';
    /** wasm heap in use now, and at most during the last load (bytes) */
    heapBytes: number; peakLoadHeapBytes: number;
    /** the weights are in wasm memory (false: on the GPU only, see gpuHostCopy) */
    hostWeights: boolean;
    /** where the context runs */
    device: 'webgpu' | 'cpu';
    /** on the CPU: why not on the GPU ('cpu' asked for, no WebGPU, a limit, a lost device) */
    fallbackReason: string | null;
    /** the GPU's runtime (set whenever a GPU was opened, also after a fallback, except one
     * that loaded the model again for the CPU: then null) */
    gpu: GpuRuntimeInfo | null;
  };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string | Array<{ type: 'text'; text: string } | string>;
}

export interface ChatCompletionCreateParams {
  messages: ChatMessage[];
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repeat_penalty?: number;
  /** Any integer: reproducible replies. None: a fresh random seed per request. */
  seed?: number;
  stop?: string | string[];
  n?: 1;
  /** A chat template family name ("chatml", "llama3", ...) instead of the model's. */
  template?: string;
  /**
   * Special-token text such as "<|im_end|>" inside message contents becomes control tokens too
   * (default false: it stays text, so a message cannot forge turns; the template's own text is
   * always parsed). Also spelled parse_special_in_content.
   */
  parseSpecialInContent?: boolean;
  parse_special_in_content?: boolean;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length';

export interface ChatCompletionUsage { prompt_tokens: number; completion_tokens: number; total_tokens: number; }

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{ index: 0; message: { role: 'assistant'; content: string }; logprobs: null; finish_reason: FinishReason }>;
  usage: ChatCompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: 0; delta: { role?: 'assistant'; content?: string }; logprobs: null; finish_reason: FinishReason | null }>;
  usage?: ChatCompletionUsage | null;
}

export interface ChatCompletionStream extends AsyncIterableIterator<ChatCompletionChunk> {
  controller: { abort(): void };
}

export interface Chat {
  completions: {
    create(params: ChatCompletionCreateParams & { stream: true }, options?: { signal?: AbortSignal }): Promise<ChatCompletionStream>;
    create(params: ChatCompletionCreateParams & { stream?: false }, options?: { signal?: AbortSignal }): Promise<ChatCompletion>;
    create(params: ChatCompletionCreateParams, options?: { signal?: AbortSignal }): Promise<ChatCompletion | ChatCompletionStream>;
  };
}

export declare class LLM {
  private constructor();
  info(): Promise<ModelInfo>;
  tokenize(text: string, opts?: { addSpecial?: boolean; parseSpecial?: boolean }): Promise<number[]>;
  detokenize(ids: ArrayLike<number>, opts?: { special?: boolean }): Promise<string>;
  applyChatTemplate(messages: ChatMessage[], opts?: { addAssistant?: boolean; template?: string; tokenize?: false }): Promise<string>;
  /** The token ids chat.completions.create() evaluates (special tokens parsed only in the template's text). */
  applyChatTemplate(messages: ChatMessage[], opts: { addAssistant?: boolean; template?: string; tokenize: true; parseSpecialInContent?: boolean }): Promise<number[]>;
  /** Text pieces as they are generated (whole UTF-8 characters only). */
  complete(prompt: string | number[], opts?: CompleteOptions): AsyncIterableIterator<string>;
  /** OpenAI-style chat completions, with the model's chat template. */
  readonly chat: Chat;
  /** Logits of the last evaluated position (n_vocab floats); with a prompt, evaluates it first. */
  logits(prompt?: string, opts?: { addSpecial?: boolean; parseSpecial?: boolean }): Promise<Float32Array | null>;
  /** Frees the model, its context and its WebAssembly instance (or worker). */
  dispose(): Promise<void>;
  /** The last generation's counts and timings (null before any). */
  readonly stats: GenerationStats | null;
  /** Empty the KV cache: the next prompt is evaluated from scratch. */
  reset(): Promise<void>;
}

export declare function load(source: ModelSource, opts?: LoadOptions): Promise<LLM>;

export interface QuantizeProgress {
  /** 1-based index of the tensor just written, of `tensors` (absent on summary lines) */
  tensor?: number;
  tensors?: number;
  name?: string;
  /** llama-quantize's line: "[  12/ 272] blk.0.attn_q.weight - [...], type = f16, converting to q4_K ..." */
  line: string;
}

export interface QuantizeOptions {
  /** Node: write here and resolve to the path: a new temporary file in its folder, created
   * exclusively and renamed when complete (as the CLI writes); it may be neither a directory nor
   * the source under any name (ARG). */
  output?: string;
  threads?: number;
  /** no k-quant mixture: every quantizable tensor gets the base type (llama-quantize --pure) */
  pure?: boolean;
  /** accept quantized inputs (dequantized first) */
  allowRequantize?: boolean;
  /** tensor type for output.weight / token_embd.weight, e.g. 'q8_0' */
  outputType?: string;
  embeddingType?: string;
  onProgress?: (p: QuantizeProgress) => void;
  /** browsers: ends the worker at once; Node: checked before starting */
  signal?: AbortSignal;
  workerUrl?: string | URL;
}

/**
 * Quantize a GGUF model into `type` ('Q4_K_M', 'Q8_0', 'Q4_0', 'Q5_1', 'Q2_K', ... llama-quantize's
 * names): the same bytes as `edgeq quantize` and llama-quantize. Browsers: source is a File/Blob,
 * bytes, or a URL whose server answers Range requests; resolves to a Blob. Node: a path or bytes;
 * resolves to the output path (with `output`) or a Uint8Array.
 */
export declare function quantize(source: string | URL | Blob | ArrayBuffer | ArrayBufferView, type: string,
  opts?: QuantizeOptions): Promise<Blob | Uint8Array | string>;

declare const _default: { load: typeof load; quantize: typeof quantize; EdgeqError: typeof EdgeqError };
export default _default;
