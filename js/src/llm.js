// The public model object, the same in browsers and Node. It talks to a backend with async
// methods: the engine itself in Node (src/node.js), a Web Worker in browsers (src/browser.js).
import { EdgeqError, abortError, asEdgeqError } from './errors.js';

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function randomId() {
  let s = '';
  for (let i = 0; i < 24; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)];
  return s;
}

/** Sampling options from the JS (camelCase) or OpenAI (snake_case) spelling. */
function samplingOptions(o = {}) {
  const pick = (...keys) => {
    for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
    return undefined;
  };
  return {
    temperature: pick('temperature', 'temp'),
    topK: pick('topK', 'top_k'),
    topP: pick('topP', 'top_p'),
    minP: pick('minP', 'min_p'),
    repeatPenalty: pick('repeatPenalty', 'repeat_penalty'),
    repeatLastN: pick('repeatLastN', 'repeat_last_n'),
    seed: pick('seed'),
    stop: pick('stop'),
    maxTokens: pick('maxTokens', 'max_tokens', 'max_completion_tokens'),
    ignoreEos: pick('ignoreEos', 'ignore_eos'),
    cachePrompt: pick('cachePrompt', 'cache_prompt'),
  };
}

export class LLM {
  /** @internal */
  constructor(backend, meta = {}) {
    this._b = backend;
    this._disposed = false;
    this._queue = Promise.resolve();
    this._modelName = meta.name || 'edgeq';
    /** Counts and timings of the last generation (see stats). */
    this._stats = null;
    const self = this;
    this.chat = { completions: { create: (params, reqOpts) => self._chatCreate(params, reqOpts) } };
  }

  _check() {
    if (this._disposed) throw new EdgeqError('DISPOSED', 'the model was disposed');
  }

  /** Run fn with the engine to ourselves (one generation at a time per model). */
  _exclusive(fn) {
    const run = this._queue.then(() => { this._check(); return fn(); });
    this._queue = run.then(() => {}, () => {});
    return run;
  }

  async info() { this._check(); return this._b.call('info'); }

  /**
   * The last generation: { promptTokens, cachedTokens, completionTokens, promptMs (to the first
   * token), generationMs (first to last token), promptTokensPerSecond, tokensPerSecond,
   * finishReason, seed (the sampler's: pass it again to repeat the generation) }, or null
   * before any.
   */
  get stats() { return this._stats ? { ...this._stats } : null; }

  /** Empty the KV cache (the next prompt is evaluated from scratch, no prefix reuse). */
  async reset() { this._check(); return this._exclusive(() => this._b.call('reset')); }

  async tokenize(text, opts = {}) {
    this._check();
    return this._b.call('tokenize', String(text), { addSpecial: opts.addSpecial ?? true, parseSpecial: opts.parseSpecial ?? true });
  }

  async detokenize(ids, opts = {}) {
    this._check();
    return this._b.call('detokenize', Array.from(ids, (t) => t | 0), { special: !!opts.special });
  }

  /**
   * The chat prompt as text, or with tokenize: true as the token ids chat.completions.create()
   * evaluates: special-token text in message contents stays text there unless
   * parseSpecialInContent (the text form, passed to complete(), parses it everywhere).
   */
  async applyChatTemplate(messages, opts = {}) {
    this._check();
    const o = { addAssistant: opts.addAssistant ?? true, template: opts.template ?? null };
    if (opts.tokenize) return this._b.call('chatTokens', messages, { ...o, parseSpecialInContent: !!opts.parseSpecialInContent });
    return this._b.call('applyChatTemplate', messages, o);
  }

  /**
   * Logits (Float32Array, n_vocab) of the last evaluated position. With a prompt, that prompt is
   * evaluated first (as complete() with maxTokens 0 does).
   */
  async logits(prompt, opts = {}) {
    this._check();
    if (prompt !== undefined) {
      // eslint-disable-next-line no-unused-vars
      for await (const _ of this._steps({ ...opts, prompt, maxTokens: 0 })) { /* prompt only */ }
    }
    return this._exclusive(() => this._b.call('logits'));
  }

  /**
   * Generate text after a prompt: an async iterator of text pieces (complete UTF-8 only).
   * opts: maxTokens, temperature (0 = greedy), topK, topP, minP, repeatPenalty, repeatLastN,
   * seed (an integer: reproducible; none: a fresh random seed per call), stop (string |
   * string[]), signal, addSpecial, parseSpecial, ignoreEos (keep going
   * past end-of-generation tokens), cachePrompt (false: no reuse of the cached prefix).
   * Counts and timings end up in llm.stats.
   */
  complete(prompt, opts = {}) {
    const steps = this._steps({ ...samplingOptions(opts), prompt: typeof prompt === 'string' ? prompt : undefined,
      tokens: typeof prompt === 'string' ? undefined : prompt, signal: opts.signal,
      addSpecial: opts.addSpecial, parseSpecial: opts.parseSpecial });
    return (async function* pieces() {
      for await (const r of steps) if (r.text) yield r.text;
    })();
  }

  /** Step results of one generation: { text, done, finishReason, promptTokens, completionTokens }. */
  async *_steps(opts) {
    this._check();
    const signal = opts.signal;
    if (signal && signal.aborted) throw abortError(signal, 'generation aborted');
    let release;
    const gate = new Promise((r) => { release = r; });
    const prev = this._queue;
    this._queue = gate;
    await prev.catch(() => {});
    let id = null;
    let done = false;
    const onAbort = () => { if (id !== null && !done) this._b.abortDecode?.(); };
    try {
      this._check();
      if (signal && signal.aborted) throw abortError(signal, 'generation aborted');
      const { signal: _s, ...rest } = opts;
      const t0 = now();
      id = await this._b.call('startGeneration', rest);
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      let tFirst = 0;
      const record = (r, t) => {
        if (!tFirst && r.completionTokens > 0) tFirst = t;
        const promptMs = (tFirst || t) - t0;
        const generationMs = tFirst ? t - tFirst : 0;
        const evaluated = r.promptTokens - (r.cachedTokens || 0);
        this._stats = {
          promptTokens: r.promptTokens, cachedTokens: r.cachedTokens || 0, completionTokens: r.completionTokens,
          promptMs, generationMs,
          promptTokensPerSecond: promptMs > 0 ? (1000 * evaluated) / promptMs : 0,
          tokensPerSecond: generationMs > 0 ? (1000 * (r.completionTokens - 1)) / generationMs : 0,
          finishReason: r.finishReason || null,
          seed: r.seed ?? null,
        };
      };
      for (;;) {
        if (signal && signal.aborted) throw abortError(signal, 'generation aborted');
        let r;
        try {
          r = await this._b.call('step', id);
        } catch (e) {
          if (signal && signal.aborted) throw abortError(signal, 'generation aborted');
          throw e;
        }
        if (r.done) done = true;
        record(r, now());
        yield r;
        if (r.done) return;
      }
    } catch (e) {
      throw asEdgeqError(e);
    } finally {
      if (signal) signal.removeEventListener('abort', onAbort);
      if (id !== null && !done && !this._disposed) {
        try { await this._b.call('endGeneration'); } catch { /* disposed meanwhile */ }
      }
      release();
    }
  }

  async _chatCreate(params = {}, reqOpts = {}) {
    this._check();
    if (!params || !Array.isArray(params.messages)) throw new EdgeqError('ARG', 'messages must be an array');
    if (params.n !== undefined && params.n !== 1) throw new EdgeqError('ARG', 'only n = 1 is supported');
    const signal = reqOpts.signal || params.signal;
    // tokens, not the prompt's text: special-token text in the messages must stay text
    const tokens = await this._b.call('chatTokens', params.messages, {
      addAssistant: true, template: params.template ?? null,
      parseSpecialInContent: !!(params.parseSpecialInContent ?? params.parse_special_in_content),
    });
    const sampling = samplingOptions(params);
    const id = 'chatcmpl-' + randomId();
    const created = Math.floor(Date.now() / 1000);
    const model = params.model || this._modelName;
    const steps = this._steps({ ...sampling, tokens, signal });
    const usage = (r) => ({
      prompt_tokens: r ? r.promptTokens : 0,
      completion_tokens: r ? r.completionTokens : 0,
      total_tokens: r ? r.promptTokens + r.completionTokens : 0,
    });
    if (!params.stream) {
      let text = '';
      let last = null;
      for await (const r of steps) { text += r.text; last = r; }
      return {
        id, object: 'chat.completion', created, model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: last ? last.finishReason : 'stop' }],
        usage: usage(last),
        timings: this._timings(),
      };
    }
    const includeUsage = !!(params.stream_options && params.stream_options.include_usage);
    const chunk = (delta, finish) => ({
      id, object: 'chat.completion.chunk', created, model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    async function* stream() {
      yield chunk({ role: 'assistant', content: '' }, null);
      let last = null;
      for await (const r of steps) {
        last = r;
        if (r.text) yield chunk({ content: r.text }, null);
      }
      yield chunk({}, last ? last.finishReason : 'stop');
      if (includeUsage) yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(last) };
    }
    const s = stream();
    // like the OpenAI SDK's Stream: async-iterable, with a controller to stop it
    const controller = { abort: () => { s.return(undefined); } };
    return Object.assign(s, { controller });
  }

  /** llama-server's `timings` object for the last generation. */
  _timings() {
    const s = this._stats;
    if (!s) return null;
    return {
      cache_n: s.cachedTokens, prompt_n: s.promptTokens - s.cachedTokens, prompt_ms: s.promptMs,
      prompt_per_second: s.promptTokensPerSecond, predicted_n: s.completionTokens, predicted_ms: s.generationMs,
      predicted_per_second: s.tokensPerSecond,
    };
  }

  /** Free the model, its context and the WebAssembly instance (or worker) behind it. */
  async dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._b.abortDecode?.();
    try { await this._b.dispose(); } catch { /* already gone */ }
  }
}
