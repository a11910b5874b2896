// Type-checked only (tsc --noEmit, tests/js/run.sh), never run: the package's API used the way
// js/README.md shows it, against the hand-written js/src/index.d.ts. In misuse(), each line
// under an expect-error directive must stay an error: the types reject what the runtime does.
import edgeq, { load, quantize, EdgeqError, ErrorCode, LLM } from 'edgeq';
import type {
  ModelSource, LoadOptions, CompleteOptions, ChatCompletion, ChatCompletionChunk, ModelInfo,
  GenerationStats, QuantizeProgress, ErrorCodeName,
} from 'edgeq';

export async function readme(signal: AbortSignal, file: File, files: FileList, out: { textContent: string }) {
  const opts: LoadOptions = {
    onProgress: ({ loaded, total }) => console.log(loaded, total),
    signal, threads: 4, contextSize: 4096, batchSize: 256, kvType: 'f16', cache: false,
    onEvent: (e) => console.log(e.type, e.url, e.offset),
    workerUrl: new URL('./worker.js', 'https://example.com/'),
  };
  const llm: LLM = await edgeq.load('https://example.com/SmolLM2-135M-Instruct.Q4_1.gguf', opts);
  const sources: ModelSource[] = [file, files, [file, 'part-00002-of-00002.gguf'], new URL('file:///m.gguf')];
  await Promise.all(sources.map((s) => load(s, { vocabOnly: true })));

  const copts: CompleteOptions = { maxTokens: 32, temperature: 0, stop: ['\n'], ignoreEos: false, cachePrompt: false };
  for await (const piece of llm.complete('The capital of France is', copts)) out.textContent += piece;
  for await (const piece of llm.complete([1, 2, 3])) out.textContent += piece;

  const res: ChatCompletion = await llm.chat.completions.create({
    messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64, temperature: 0.7,
  });
  const text: string = res.choices[0].message.content;
  const total: number = res.usage.total_tokens;
  const stream = await llm.chat.completions.create({
    messages: [{ role: 'system', content: [{ type: 'text', text: 'Be brief.' }] }, { role: 'user', content: 'Hi' }],
    stream: true, stream_options: { include_usage: true }, template: 'chatml',
  });
  for await (const chunk of stream) {
    const c: ChatCompletionChunk = chunk;
    out.textContent += c.choices[0]?.delta.content ?? '';
  }
  stream.controller.abort();

  const ids: number[] = await llm.tokenize('Hello world', { addSpecial: false });
  const back: string = await llm.detokenize(ids, { special: true });
  const info: ModelInfo = await llm.info();
  const threaded: boolean = info.runtime.threaded;
  const device: 'webgpu' | 'cpu' = info.runtime.device;
  const why: string | null = info.runtime.fallbackReason;
  const gpuBytes: number | undefined = info.runtime.gpu?.weightBytes;
  await edgeq.load('m.gguf', { device: 'webgpu', gpuMaxBufferBytes: 1 << 20 });
  const bos: number | null = info.tokens.bos;
  const logits: Float32Array | null = await llm.logits('Some prompt');
  const stats: GenerationStats | null = llm.stats;
  const prompt: string = await llm.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addAssistant: true });
  await llm.reset();
  await llm.dispose();

  const blob = await quantize(file, 'Q4_K_M', {
    onProgress: ({ tensor, tensors, line }: QuantizeProgress) => console.log(tensor, tensors, line),
    pure: false, outputType: 'q8_0', signal,
  });
  const path = await edgeq.quantize('model-f16.gguf', 'Q4_K_M', { output: 'model-q4_k_m.gguf', threads: 2 });
  const bytes = await quantize(new Uint8Array(16), 'Q8_0');

  try {
    await load('missing.gguf');
  } catch (e) {
    if (e instanceof EdgeqError) {
      const code: ErrorCodeName = e.code;
      if (code === ErrorCode.HTTP) console.log(e.status);
      if (e.code === 'ABORTED') console.log(e.message, e.name);
    }
  }
  const err = new edgeq.EdgeqError('ARG', 'bad argument', { cause: new Error('x') });
  return { text, total, back, threaded, device, why, gpuBytes, bos, logits, stats, prompt, blob, path, bytes, err };
}

export async function misuse(llm: LLM) {
  // @ts-expect-error: not a model source
  await load(42);
  // @ts-expect-error: kvType is 'f16' or 'f32'
  await load('m.gguf', { kvType: 'q8_0' });
  // @ts-expect-error: the constructor is private: models come from load()
  new LLM();
  // @ts-expect-error: no such error code
  new EdgeqError('NOPE', 'x');
  // @ts-expect-error: messages are required
  await llm.chat.completions.create({ max_tokens: 4 });
  // @ts-expect-error: stats is read-only
  llm.stats = null;
}
