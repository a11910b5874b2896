// edgeq chat demo: the npm package's browser entry, no framework. The model is streamed into a
// Web Worker's wasm memory by edgeq.load(); replies stream from llm.chat.completions.create().
// The page's state is in <body data-state>: idle (no model) | loading | ready | generating.
import { load, EdgeqError } from '../js/src/browser.js';

const $ = (id) => document.getElementById(id);
const ui = {
  threadsBadge: $('threads-badge'), modelBadge: $('model-badge'), deviceBadge: $('device-badge'),
  modelChoices: $('model-choices'), mode: $('mode'), modeNote: $('mode-note'), composerHint: $('composer-hint'),
  newChat: $('new-chat'), settingsToggle: $('settings-toggle'), settings: $('settings'), settingsClose: $('settings-close'),
  modelForm: $('model-form'), modelUrl: $('model-url'), modelList: $('model-list'), modelFile: $('model-file'), loadBtn: $('load-btn'), keepModel: $('keep-model'),
  progress: $('model-progress'), progressLabel: $('progress-label'), progressBar: $('progress-bar'),
  progressBytes: $('progress-bytes'), progressSpeed: $('progress-speed'), cancelLoad: $('cancel-load'),
  summary: $('model-summary'), modelName: $('model-name'), modelDetails: $('model-details'), changeModel: $('change-model'),
  loadStatus: $('load-status'),
  error: $('error'), errorCode: $('error-code'), errorText: $('error-text'), errorRaw: $('error-raw'), errorClose: $('error-close'),
  conversation: document.querySelector('.conversation'), emptyState: $('empty-state'), messages: $('messages'),
  composer: $('composer'), prompt: $('prompt'), send: $('send'), stop: $('stop'),
  settingsForm: $('settings-form'), system: $('system-prompt'), temperature: $('temperature'), temperatureOut: $('temperature-out'),
  maxTokens: $('max-tokens'), topP: $('top-p'), topPOut: $('top-p-out'), repeatPenalty: $('repeat-penalty'),
  contextSize: $('context-size'), threads: $('threads'), threadsHint: $('threads-hint'), useCache: $('use-cache'),
  reloadModel: $('reload-model'), resetSettings: $('reset-settings'),
  dropOverlay: $('drop-overlay'),
};

// Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP + COEP headers).
const ISOLATED = self.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
// isolated, yet no SharedArrayBuffer: the engine does not offer it (WebKitGTK 2.50)
const NO_SAB = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'undefined';
const CORES = navigator.hardwareConcurrency || 4;
const MAX_THREADS = ISOLATED ? Math.max(1, Math.min(CORES, 16)) : 1;
const DEFAULT_MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const SETTINGS_KEY = 'edgeq-demo-settings-v1';
const CHAT_KEY = 'edgeq-demo-chat-v1';   // the conversation, kept across reloads
const CACHE_NAME = 'edgeq-models-v1';    // the npm package's Cache API store (js/src/load.js)
// touch screens: no Enter / Shift+Enter / Esc hints (there is no such keyboard)
const TOUCH = matchMedia('(pointer: coarse)').matches && !matchMedia('(any-pointer: fine)').matches;
const DEFAULTS = Object.freeze({
  system: 'You are a helpful assistant.',
  temperature: null,  // null: the loaded model's default (defaultTemperature), until the slider moves
  maxTokens: 512,
  topP: 0.9,
  repeatPenalty: 1.1, // small models loop without a little penalty
  contextSize: 0,     // 0: the model's own, capped at 4096 by the package
  threads: Math.min(MAX_THREADS, 8),
  cache: true,
});

const app = {
  state: 'idle',
  llm: null,
  info: null,
  source: null,        // what the loaded model came from (for "reload")
  sourceLabel: '',
  template: null,      // chat template override when the model has none edgeq knows
  loadCtl: null,
  genCtl: null,
  history: [],         // [{ role, content }] of this conversation, without the system prompt
  chatId: 0,           // bumped by "New chat": a reply still finishing belongs to the old one
  loadedWith: null,    // { contextSize, threads, cache } used by the current model
  mode: 'chat',        // 'chat' (chat template, messages) or 'completion' (a base model continues the text)
  modelUrl: null,      // the loaded model's URL (not for a File): remembered with the conversation
};

// ---- models: readable names, chat or text completion, default temperature ----------------------
// Models the demo knows by file name. A base model (not instruction-tuned) has no business
// answering chat turns even when its file carries a chat template (Gemma 3 270M's does): it is
// offered as text completion.
const KNOWN_MODELS = [
  { test: /^smollm2-135m-instruct\b/i, name: 'SmolLM2 135M Instruct', mode: 'chat' },
  { test: /^gemma-3-(\d+[mb])-it\b/i, name: (m) => `Gemma 3 ${m[1].toUpperCase()} Instruct`, mode: 'chat' },
  { test: /^gemma-3-(\d+[mb])\b/i, name: (m) => `Gemma 3 ${m[1].toUpperCase()}`, mode: 'completion', note: 'a base model: it continues your text, it does not follow instructions' },
];

function knownModel(fileName) {
  for (const k of KNOWN_MODELS) {
    const m = k.test.exec(fileName);
    if (m) return { ...k, name: typeof k.name === 'function' ? k.name(m) : k.name };
  }
  return null;
}

/** "SmolLM2-135M-Instruct.Q4_1.gguf" -> "SmolLM2 135M Instruct": the file name without the
 * extension, the quantization and split suffixes; sizes upper-cased. general.name is often a
 * training-run label ("Smollm2 135M 8k Lc100K Mix1 Ep2"), so the file name is preferred. */
function readableName(fileName) {
  const known = knownModel(fileName);
  if (known) return known.name;
  let n = fileName.replace(/\.gguf$/i, '').replace(/-\d{5}-of-\d{5}$/i, '');
  n = n.replace(/[-._](?:i?q\d[\w]*|f16|f32|bf16|fp16)$/i, '');
  const words = n.split(/[-_\s]+/).filter(Boolean)
    .map((w) => (/^\d+(\.\d+)?[kmb]$/i.test(w) ? w.toUpperCase() : /^[a-z]/.test(w) && w === w.toLowerCase() ? w[0].toUpperCase() + w.slice(1) : w));
  return words.join(' ') || fileName;
}

/** 'chat' or 'completion' for a loaded model: known files by name; otherwise chat when the
 * model has a chat template or its name says it is tuned for instructions. */
function modelMode(fileName, info) {
  const known = knownModel(fileName);
  if (known) return known.mode;
  return info.chatTemplate || /\b(instruct|chat|it)\b/i.test(readableName(fileName)) ? 'chat' : 'completion';
}

/** Small models ramble when sampled hot: SmolLM2's own card suggests 0.2 for its 135M. */
function defaultTemperature(info) {
  const n = info ? info.nParams : 0;
  return n > 0 && n < 200e6 ? 0.2 : n > 0 && n < 1e9 ? 0.3 : 0.7;
}

/** The temperature a reply uses: the slider once moved, else the model's default. */
function temperature(s) { return s.temperature === null ? defaultTemperature(app.info) : s.temperature; }

// ---- formatting ---------------------------------------------------------------------------------
const MB = 1e6;
const fmtMB = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / MB).toFixed(b < 10 * MB ? 1 : 0)} MB`);
const fmtCount = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} B` : n >= 1e6 ? `${Math.round(n / 1e6)} M` : `${n}`);
const fmtSecs = (ms) => (ms < 1000 ? `${(ms / 1000).toFixed(2)} s` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`);
const baseName = (s) => { try { return decodeURIComponent(new URL(s, location.href).pathname.split('/').pop()) || s; } catch { return s; } };

// ---- state --------------------------------------------------------------------------------------
function setState(state) {
  app.state = state;
  document.body.dataset.state = state;
  const ready = state === 'ready';
  const generating = state === 'generating';
  ui.prompt.disabled = !(ready || generating);
  const keys = TOUCH ? '' : ' (Enter to send, Shift+Enter for a new line)';
  ui.prompt.placeholder = ready || generating ? (app.mode === 'completion' ? `Text for the model to continue${keys}` : `Message${keys}`)
    : state === 'loading' ? 'Loading the model…' : 'Load a model to start chatting';
  ui.send.hidden = generating;
  ui.stop.hidden = !generating;
  updateSendButton();
  ui.loadBtn.disabled = state === 'loading' || generating;
  ui.modelUrl.disabled = state === 'loading';
  ui.modelFile.disabled = state === 'loading' || generating;
  ui.changeModel.disabled = generating;
  ui.reloadModel.disabled = !app.llm || generating || state === 'loading';
  ui.mode.disabled = generating;
  for (const b of ui.modelChoices.querySelectorAll('button')) b.disabled = state === 'loading' || generating;
  for (const chip of document.querySelectorAll('.chip')) chip.disabled = !ready;
}

function updateSendButton() {
  ui.send.disabled = app.state !== 'ready' || !ui.prompt.value.trim();
}

/** Which part of the model panel shows: the picker, the progress bar or the loaded model. */
function showModelView(view) {
  ui.modelForm.hidden = view !== 'pick';
  ui.keepModel.hidden = !(view === 'pick' && app.llm);
  ui.progress.hidden = view !== 'loading';
  ui.summary.hidden = view !== 'ready';
}

function setStatus(text) { ui.loadStatus.textContent = text || ''; }

// ---- errors -------------------------------------------------------------------------------------
const HINTS = {
  HTTP: (e) => (e.status === 404 ? 'The model URL was not found (HTTP 404).' : `The server answered HTTP ${e.status ?? ''}.`),
  NETWORK: () => 'The download failed. Check the URL; a model on another origin must allow CORS (on a cross-origin isolated page also Cross-Origin-Resource-Policy).',
  FORMAT: () => 'This is not a valid GGUF model file, or it is truncated.',
  UNSUPPORTED: () => 'edgeq cannot run this model: its architecture or a tensor type is not supported (llama, qwen2, phi3 and gemma3; F32/F16/BF16, Q4_0…Q8_0, Q2_K…Q6_K).',
  NOMEM: () => 'Not enough memory: WebAssembly (wasm32) stops at 4 GB and the browser may grant less. Try a smaller model or a smaller context.',
  CONTEXT_FULL: () => 'The conversation no longer fits in the context. Start a new chat, or raise the context size in Settings and reload the model.',
  ARG: () => 'Invalid argument.',
  IO: () => 'The file could not be read.',
  DISPOSED: () => 'The model was unloaded.',
  RUNTIME: () => 'The WebAssembly engine failed to start or crashed (is js/wasm/ built? bash js/scripts/build.sh).',
  ABORTED: () => 'Cancelled.',
};

function showError(e, what) {
  const err = e instanceof EdgeqError ? e : null;
  const code = err ? err.code : 'ERROR';
  ui.errorCode.textContent = code;
  ui.errorText.textContent = `${what ? what + ': ' : ''}${HINTS[code] ? HINTS[code](err) : 'Something went wrong.'}`;
  ui.errorRaw.textContent = (e && e.message) || String(e);
  ui.error.hidden = false;
  if (!err) console.error(e); // not a typed error: a bug worth a stack trace
}

function clearError() { ui.error.hidden = true; }

// ---- download progress --------------------------------------------------------------------------
/** Bytes per second over the last two seconds of progress reports. */
class SpeedMeter {
  constructor() { this.samples = []; }
  add(loaded) {
    const now = performance.now();
    this.samples.push([now, loaded]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 2000) this.samples.shift();
  }
  rate() {
    const s = this.samples;
    if (s.length < 2) return 0;
    const dt = (s[s.length - 1][0] - s[0][0]) / 1000;
    return dt > 0.2 ? (s[s.length - 1][1] - s[0][1]) / dt : 0;
  }
}

function showProgress({ loaded, total }, meter, verb) {
  meter.add(loaded);
  if (total > 0) {
    ui.progressBar.value = Math.min(1, loaded / total);
    ui.progressBytes.textContent = `${fmtMB(loaded)} / ${fmtMB(total)} (${Math.floor((100 * loaded) / total)}%)`;
  } else {
    ui.progressBar.removeAttribute('value'); // indeterminate: no Content-Length
    ui.progressBytes.textContent = fmtMB(loaded);
  }
  const rate = meter.rate();
  if (total > 0 && loaded >= total) {
    ui.progressLabel.textContent = 'Preparing the model…';
    ui.progressSpeed.textContent = rate ? `${(rate / MB).toFixed(1)} MB/s` : '';
    return;
  }
  ui.progressLabel.textContent = verb;
  let speed = rate ? `${(rate / MB).toFixed(1)} MB/s` : '';
  if (rate && total > 0) speed += ` · ${fmtSecs(((total - loaded) / rate) * 1000)} left`;
  ui.progressSpeed.textContent = speed;
}

// ---- loading ------------------------------------------------------------------------------------
/** Load source (a URL, a File or the Files of a split model); label: its file name. size: the
 * bytes, when known before the download starts (a cached copy), shown at once. */
async function loadModel(source, label, size = 0) {
  if (app.state === 'generating' || app.state === 'loading') return;
  const name = readableName(label);
  clearError();
  setStatus('');
  // free the current model first: two models at once may not fit in memory
  if (app.llm) {
    const old = app.llm;
    app.llm = null;
    app.info = null;
    ui.modelBadge.hidden = true;
    await old.dispose();
  }
  const s = readSettings();
  const opts = { threads: s.threads, contextSize: s.contextSize || undefined, cache: s.cache };
  const ctl = new AbortController();
  app.loadCtl = ctl;
  setState('loading');
  showModelView('loading');
  const isFile = typeof Blob !== 'undefined' && (source instanceof Blob || Array.isArray(source));
  const verb = `${isFile ? 'Reading' : 'Downloading'} ${name}`;
  ui.progressLabel.textContent = size ? `Loading ${name} from the browser cache` : verb;
  ui.progressBar.value = 0;
  ui.progressBytes.textContent = size ? `0 MB / ${fmtMB(size)}` : '';
  ui.progressSpeed.textContent = '';
  const meter = new SpeedMeter();
  let fromCache = false;
  const t0 = performance.now();
  try {
    const llm = await load(source, {
      ...opts,
      signal: ctl.signal,
      onProgress: (p) => showProgress(p, meter, fromCache ? `Loading ${name} from the browser cache` : verb),
      onEvent: (ev) => { if (ev.type === 'cache-hit') fromCache = true; },
    });
    const info = await llm.info();
    app.llm = llm;
    app.info = info;
    app.source = source;
    app.sourceLabel = label;
    app.loadedWith = opts;
    app.template = info.chatTemplate ? null : 'chatml';
    app.modelUrl = typeof source === 'string' ? source : null;
    const mode = modelMode(label, info);
    // a restored conversation keeps its mode when it has one; another model starts its own
    if (mode !== app.mode) {
      if (app.history.length) newChat();
      app.mode = mode;
    }
    ui.mode.value = app.mode;
    showModeUI();
    showTemperature();
    saveChat();
    showModelSummary(info, label);
    setState('ready');
    showModelView('ready');
    setStatus(`Loaded in ${fmtSecs(performance.now() - t0)}${fromCache ? ' (from the browser cache)' : ''}.`
      + (app.template && app.mode === 'chat' ? ' The model has no chat template edgeq recognises: using ChatML.' : ''));
    if (!TOUCH) ui.prompt.focus();
  } catch (e) {
    setState('idle');
    showModelView('pick');
    if (e && e.code === 'ABORTED') setStatus('Loading cancelled.');
    else showError(e, `Could not load ${label}`);
  } finally {
    app.loadCtl = null;
  }
}

function showModelSummary(info, label) {
  const rt = info.runtime;
  // the quantization is the commonest tensor type other than the F32 norms
  const types = Object.entries(info.tensorTypes).filter(([t]) => t !== 'F32').sort((a, b) => b[1] - a[1]);
  const quant = types.length ? types[0][0] : 'F32';
  // the readable name; the file's own name and general.name (often a training-run label) on hover
  ui.modelName.textContent = readableName(label);
  ui.modelName.title = label;
  ui.modelDetails.title = info.name ? `general.name: ${info.name}` : '';
  ui.modelDetails.textContent = [
    info.architecture, `${fmtCount(info.nParams)} params`, quant, fmtMB(info.sizeBytes),
    `context ${rt.contextSize}`, info.chatTemplate ? `template ${info.chatTemplate}` : 'no chat template',
  ].join(' · ');
  ui.modelBadge.textContent = `${quant} · ${fmtMB(info.sizeBytes)}`;
  ui.modelBadge.hidden = false;
  showThreads(rt);
  showDevice(rt);
}

/** Which device runs the model: the GPU (WebGPU, with the adapter on hover) or the CPU (with
 * why not the GPU on hover). The package picks the GPU when the browser offers one. */
function showDevice(rt) {
  const gpu = rt.device === 'webgpu';
  const a = gpu && rt.gpu && rt.gpu.adapter ? rt.gpu.adapter : {};
  ui.deviceBadge.textContent = gpu ? 'GPU · WebGPU' : 'CPU · wasm';
  ui.deviceBadge.dataset.device = rt.device || 'cpu';
  ui.deviceBadge.title = gpu ? `WebGPU on ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'the GPU'}`
    : `on the CPU (WebAssembly SIMD)${rt.fallbackReason ? `: ${rt.fallbackReason}` : ''}`;
  ui.deviceBadge.hidden = false;
}

/** Chat or text completion: the mode select, its note, the placeholder and the suggestions. */
function showModeUI() {
  const completion = app.mode === 'completion';
  const known = app.sourceLabel ? knownModel(app.sourceLabel) : null;
  ui.modeNote.hidden = !completion;
  ui.modeNote.textContent = completion ? `Text completion: ${known && known.note ? known.note : 'the model continues the text you write'}.` : '';
  for (const g of document.querySelectorAll('.suggestions')) g.hidden = g.dataset.mode !== app.mode;
  document.body.dataset.mode = app.mode;
  setState(app.state); // the placeholder
}

function showThreads(rt) {
  const n = rt ? rt.threads : ISOLATED ? readSettings().threads : 1;
  ui.threadsBadge.textContent = `${n} thread${n === 1 ? '' : 's'} · ${ISOLATED ? 'cross-origin isolated' : NO_SAB ? 'no SharedArrayBuffer' : 'not cross-origin isolated'}`;
  ui.threadsBadge.classList.toggle('warn', !ISOLATED);
  ui.threadsBadge.title = ISOLATED
    ? 'The page is cross-origin isolated (COOP/COEP): edgeq runs its threaded WebAssembly module.'
    : NO_SAB ? 'The page is cross-origin isolated, but this browser does not offer SharedArrayBuffer: edgeq runs single-threaded.'
      : 'Without COOP/COEP headers the page cannot use SharedArrayBuffer: edgeq runs single-threaded.';
}

// ---- chat ---------------------------------------------------------------------------------------
/** Render reply text: ``` fences become <pre>, `x` inline code, the rest plain text (no HTML). */
function renderText(el, text) {
  el.replaceChildren();
  const parts = text.split('```');
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = part.replace(/^[\w+-]*\n/, ''); // drop the language tag
      pre.append(code);
      el.append(pre);
      return;
    }
    const bits = part.split(/(`[^`\n]+`)/);
    for (const b of bits) {
      if (b.length > 2 && b.startsWith('`') && b.endsWith('`')) {
        const c = document.createElement('code');
        c.className = 'inline';
        c.textContent = b.slice(1, -1);
        el.append(c);
      } else if (b) {
        el.append(b);
      }
    }
  });
}

function nearBottom() {
  const c = ui.conversation;
  return c.scrollHeight - c.scrollTop - c.clientHeight < 80;
}
function scrollToBottom() { ui.conversation.scrollTop = ui.conversation.scrollHeight; }

function addMessage(role, text, mode = app.mode) {
  ui.emptyState.hidden = true;
  const li = document.createElement('div');
  li.className = `msg ${role}${role === 'assistant' && mode === 'completion' ? ' completion' : ''}`;
  const who = document.createElement('span');
  who.className = 'visually-hidden';
  who.textContent = role === 'user' ? 'You: ' : 'Assistant: ';
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  if (role === 'user') bubble.textContent = text; else renderText(bubble, text);
  li.append(who, bubble);
  const meta = document.createElement('div');
  meta.className = 'meta';
  li.append(meta);
  ui.messages.append(li);
  scrollToBottom();
  return { li, bubble, meta };
}

function addNotice(text) {
  const li = document.createElement('div');
  li.className = 'notice';
  li.textContent = text;
  ui.messages.append(li);
}

/**
 * The messages to send: the system prompt and as much of the conversation as fits, leaving room
 * for the reply (oldest turns are dropped first). Returns { messages, maxTokens, dropped }.
 */
async function fitContext(s) {
  const nCtx = app.info.runtime.contextSize;
  const sys = s.system.trim() ? [{ role: 'system', content: s.system.trim() }] : [];
  const want = Math.min(s.maxTokens, Math.floor(nCtx / 2));
  let hist = app.history.slice();
  let dropped = 0;
  for (;;) {
    // the tokens chat.completions.create() evaluates (special-token text in messages is text)
    const n = (await app.llm.applyChatTemplate([...sys, ...hist], { tokenize: true, ...(app.template ? { template: app.template } : {}) })).length;
    const room = nCtx - n;
    if (room >= want || hist.length <= 1) {
      if (room < 2) throw new EdgeqError('CONTEXT_FULL', `the message is ${n} tokens with the system prompt, the context holds ${nCtx}`);
      return { messages: [...sys, ...hist], maxTokens: Math.max(1, Math.min(s.maxTokens, room - 1)), dropped };
    }
    // drop the oldest turn; the window should start with a user message
    do { hist.shift(); dropped++; } while (hist.length > 1 && hist[0].role !== 'user');
  }
}

/** Text completion (a base model): the text and its continuation, as chat chunks, so send()
 * renders both modes alike. The prompt must leave room for one token. */
async function* completionChunks(text, s, signal) {
  const nCtx = app.info.runtime.contextSize;
  const n = (await app.llm.tokenize(text)).length;
  if (nCtx - n < 2) throw new EdgeqError('CONTEXT_FULL', `the text is ${n} tokens, the context holds ${nCtx}`);
  const pieces = app.llm.complete(text, {
    maxTokens: Math.max(1, Math.min(s.maxTokens, nCtx - n - 1)), temperature: temperature(s), topP: s.topP,
    repeatPenalty: s.repeatPenalty, signal,
  });
  for await (const piece of pieces) yield { choices: [{ delta: { content: piece } }] };
  const st = app.llm.stats;
  if (st) yield { choices: [{ delta: {}, finish_reason: st.finishReason }], usage: { prompt_tokens: st.promptTokens, completion_tokens: st.completionTokens } };
}

async function send(text) {
  if (app.state !== 'ready' || !text.trim()) return;
  clearError();
  setStatus('');
  const s = readSettings();
  const chatId = app.chatId;
  app.history.push({ role: 'user', content: text });
  saveChat();
  addMessage('user', text);
  const view = addMessage('assistant', '');
  view.li.classList.add('streaming', 'waiting');
  view.li.setAttribute('aria-busy', 'true'); // screen readers read the reply once, when done
  view.meta.textContent = 'reading your message…';
  const ctl = new AbortController();
  app.genCtl = ctl;
  setState('generating');

  let content = '';
  let pieces = 0;
  let usage = null;
  let finish = null;
  let error = null;
  const t0 = performance.now();
  let tFirst = 0;
  let tLast = 0;
  // New text is painted at the next frame, or 100 ms later if no frame comes first: a browser may
  // slow its frames down (Safari in low-power mode, a window it thinks hidden) while tokens come.
  let frame = 0;
  let timer = 0;
  const schedule = () => {
    if (frame) return;
    frame = requestAnimationFrame(paint);
    timer = setTimeout(paint, 100);
  };
  const paint = () => {
    if (frame) cancelAnimationFrame(frame);
    clearTimeout(timer);
    frame = 0;
    timer = 0;
    const stick = nearBottom();
    renderText(view.bubble, content);
    if (stick) scrollToBottom();
  };
  try {
    let stream;
    if (app.mode === 'completion') {
      stream = completionChunks(text, s, ctl.signal); // each text stands alone: a base model has no turns
    } else {
      const { messages, maxTokens, dropped } = await fitContext(s);
      if (dropped) addNotice(`${dropped} earlier message${dropped > 1 ? 's' : ''} no longer fit the ${app.info.runtime.contextSize}-token context: left out of this reply`);
      stream = await app.llm.chat.completions.create({
        messages,
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: maxTokens,
        temperature: temperature(s),
        top_p: s.topP,
        repeat_penalty: s.repeatPenalty,
        ...(app.template ? { template: app.template } : {}),
      }, { signal: ctl.signal });
    }
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.finish_reason) finish = choice.finish_reason;
      const piece = choice.delta && choice.delta.content;
      if (!piece) continue;
      const now = performance.now();
      if (!tFirst) {
        tFirst = now;
        view.li.classList.remove('waiting');
        view.meta.textContent = '';
      }
      tLast = now;
      pieces++;
      content += piece;
      schedule();
    }
  } catch (e) {
    if (!(e && e.code === 'ABORTED') && !ctl.signal.aborted) error = e;
  }
  paint();
  const stopped = ctl.signal.aborted;
  app.genCtl = null;
  view.li.classList.remove('streaming', 'waiting');
  view.li.removeAttribute('aria-busy');

  if (chatId === app.chatId) {
    if (content) app.history.push({ role: 'assistant', content });
    else if (error) app.history.pop(); // nothing came back: let the user retry that message
    saveChat();
  }
  showReplyStats(view, { t0, tFirst, tLast, pieces, usage, finish, stopped, content });
  if (error) showError(error, 'The reply failed');
  setState(app.llm ? 'ready' : 'idle');
  if (!TOUCH) ui.prompt.focus();
}

/** "64 tokens · 85.2 tok/s · first token 0.31 s", with the reason a reply ended early. */
function showReplyStats(view, r) {
  view.meta.replaceChildren();
  const add = (text, cls) => {
    const span = document.createElement('span');
    if (cls) span.className = cls;
    span.textContent = text;
    view.meta.append(span);
    return span;
  };
  // exact counts come with the final usage chunk; a stopped reply has only the pieces seen
  const n = r.usage ? r.usage.completion_tokens : r.pieces;
  const approx = r.usage ? '' : '~';
  if (r.stopped) add('stopped', 'stopped');
  if (n > 0) add(`${approx}${n} token${n === 1 ? '' : 's'}`);
  if (n > 1 && r.tLast > r.tFirst) {
    const tps = (n - 1) / ((r.tLast - r.tFirst) / 1000); // decode speed, after the first token
    add(`${tps.toFixed(1)} tok/s`, 'tps');
  }
  if (r.tFirst) {
    const prompt = r.usage ? ` (prompt ${r.usage.prompt_tokens} tokens)` : '';
    add(`first token ${fmtSecs(r.tFirst - r.t0)}${prompt}`);
  }
  if (r.finish === 'length' && !r.stopped) add('max tokens reached');
  if (r.content) {
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.textContent = 'copy';
    copy.setAttribute('aria-label', 'Copy this reply');
    copy.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(r.content); copy.textContent = 'copied'; } catch { copy.textContent = 'copy failed'; }
      setTimeout(() => { copy.textContent = 'copy'; }, 1500);
    });
    view.meta.append(copy);
  }
  if (!n && !r.stopped && !r.content) add('(empty reply)');
}

function stopGeneration() {
  if (app.genCtl) app.genCtl.abort();
}

function newChat() {
  stopGeneration();
  app.chatId++;
  app.history = [];
  saveChat();
  ui.messages.replaceChildren();
  ui.emptyState.hidden = false;
  clearError();
  ui.prompt.value = '';
  autosize();
  updateSendButton();
  if (!TOUCH) ui.prompt.focus();
}

// ---- the conversation across reloads (as chat apps keep it) ---------------------------------------
function saveChat() {
  try {
    if (!app.history.length) localStorage.removeItem(CHAT_KEY);
    else localStorage.setItem(CHAT_KEY, JSON.stringify({ mode: app.mode, model: app.modelUrl, history: app.history }));
  } catch { /* storage blocked or full: the conversation just is not kept */ }
}

/** Show the conversation a reload left (it goes on once a model is loaded); returns its model URL. */
function restoreChat() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(CHAT_KEY) || 'null'); } catch { saved = null; }
  if (!saved || !Array.isArray(saved.history)) return null;
  const history = saved.history.filter((m) => m && (m.role === 'user' || m.role === 'assistant') && typeof m.content === 'string');
  if (!history.length) return null;
  app.history = history;
  app.mode = saved.mode === 'completion' ? 'completion' : 'chat';
  ui.mode.value = app.mode;
  for (const m of history) addMessage(m.role, m.content);
  addNotice('Conversation restored from your last visit');
  return typeof saved.model === 'string' ? saved.model : null;
}

// ---- settings -----------------------------------------------------------------------------------
function readSettings() {
  const num = (el, d, lo, hi) => { const v = Number(el.value); return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : d; };
  return {
    system: ui.system.value,
    temperature: app.tempAuto ? null : num(ui.temperature, 0.7, 0, 2),
    maxTokens: Math.round(num(ui.maxTokens, DEFAULTS.maxTokens, 1, 32768)),
    topP: num(ui.topP, DEFAULTS.topP, 0.05, 1),
    repeatPenalty: num(ui.repeatPenalty, DEFAULTS.repeatPenalty, 1, 2),
    contextSize: Number(ui.contextSize.value) || 0,
    threads: Math.round(num(ui.threads, DEFAULTS.threads, 1, MAX_THREADS)),
    cache: ui.useCache.checked,
  };
}

function applySettings(s) {
  ui.system.value = s.system;
  app.tempAuto = s.temperature === null || !Number.isFinite(Number(s.temperature));
  if (!app.tempAuto) ui.temperature.value = s.temperature;
  ui.maxTokens.value = s.maxTokens;
  ui.topP.value = s.topP;
  ui.repeatPenalty.value = s.repeatPenalty;
  ui.contextSize.value = String(s.contextSize);
  if (!ui.contextSize.value) ui.contextSize.value = '0';
  ui.threads.value = String(Math.min(s.threads, MAX_THREADS));
  ui.useCache.checked = !!s.cache;
  showTemperature();
}

/** The slider shows the model's default temperature until the user moves it. */
function showTemperature() {
  if (app.tempAuto) ui.temperature.value = defaultTemperature(app.info);
  showSettingOutputs();
}

function showSettingOutputs() {
  ui.temperatureOut.textContent = Number(ui.temperature.value).toFixed(2) + (app.tempAuto ? (app.info ? ' (this model\'s default)' : ' (the model\'s default)') : '');
  ui.topPOut.textContent = Number(ui.topP.value).toFixed(2);
}

function saveSettings() {
  try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(readSettings())); } catch { /* storage blocked */ }
}

function loadSettings() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}') || {}; } catch { saved = {}; }
  return { ...DEFAULTS, ...saved };
}

function setupThreadsSelect() {
  for (let n = 1; n <= MAX_THREADS; n++) {
    const o = document.createElement('option');
    o.value = String(n);
    o.textContent = n === 1 ? '1' : String(n);
    ui.threads.append(o);
  }
  ui.threads.disabled = !ISOLATED;
  ui.threadsHint.textContent = ISOLATED
    ? `This device reports ${CORES} logical cores.`
    : NO_SAB ? 'This browser does not offer SharedArrayBuffer (WebKitGTK, for one): threads are not available.'
    : 'Threads need a cross-origin isolated page (COOP: same-origin, COEP: require-corp); web-demo/serve.mjs sends those headers.';
}

/** Context size and threads take effect at the next load: offer a reload when they differ. */
function loadSettingsChanged() {
  if (!app.llm || !app.loadedWith) return false;
  const s = readSettings();
  const w = app.loadedWith;
  return (s.contextSize || undefined) !== w.contextSize || s.threads !== w.threads;
}

function openSettings(open) {
  ui.settings.hidden = !open;
  ui.settingsToggle.setAttribute('aria-expanded', String(open));
  try { localStorage.setItem(SETTINGS_KEY + '-open', open ? '1' : '0'); } catch { /* ignore */ }
  if (open && matchMedia('(max-width: 900px)').matches) ui.system.focus();
}

// ---- input wiring -------------------------------------------------------------------------------
function autosize() {
  ui.prompt.style.height = 'auto';
  ui.prompt.style.height = `${Math.min(ui.prompt.scrollHeight, 200)}px`;
}

function submitPrompt() {
  const text = ui.prompt.value;
  if (app.state !== 'ready' || !text.trim()) return;
  ui.prompt.value = '';
  autosize();
  updateSendButton();
  send(text.trim());
}

function wire() {
  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); submitPrompt(); });
  ui.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
      e.preventDefault(); // Shift+Enter falls through: a newline
      submitPrompt();
    } else if (e.key === 'Escape' && app.state === 'generating') {
      e.preventDefault();
      stopGeneration();
    }
  });
  ui.prompt.addEventListener('input', () => { autosize(); updateSendButton(); });
  ui.stop.addEventListener('click', stopGeneration);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && app.state === 'generating') stopGeneration();
  });
  ui.newChat.addEventListener('click', newChat);
  for (const chip of document.querySelectorAll('.chip')) {
    chip.addEventListener('click', () => { if (app.state === 'ready') send(chip.dataset.prompt); });
  }

  ui.modelForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const url = ui.modelUrl.value.trim();
    if (!url) { ui.modelUrl.focus(); return; }
    loadModel(url, baseName(url));
  });
  ui.modelFile.addEventListener('change', () => {
    const files = [...ui.modelFile.files];
    ui.modelFile.value = ''; // the same file can be picked again
    if (files.length) loadFiles(files);
  });
  ui.cancelLoad.addEventListener('click', () => { if (app.loadCtl) app.loadCtl.abort(); });
  ui.changeModel.addEventListener('click', () => { showModelView('pick'); ui.modelUrl.focus(); });
  ui.keepModel.addEventListener('click', () => { showModelView('ready'); ui.prompt.focus(); });
  ui.reloadModel.addEventListener('click', () => { if (app.source) loadModel(app.source, app.sourceLabel); });
  ui.errorClose.addEventListener('click', clearError);

  ui.settingsToggle.addEventListener('click', () => openSettings(ui.settings.hidden));
  ui.settingsClose.addEventListener('click', () => { openSettings(false); ui.settingsToggle.focus(); });
  // small screens: the settings drawer closes on a click outside it
  document.addEventListener('click', (e) => {
    if (ui.settings.hidden || !matchMedia('(max-width: 900px)').matches) return;
    if (!ui.settings.contains(e.target) && !ui.settingsToggle.contains(e.target)) openSettings(false);
  });
  ui.settings.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && matchMedia('(max-width: 900px)').matches) { openSettings(false); ui.settingsToggle.focus(); }
  });
  ui.temperature.addEventListener('input', () => { app.tempAuto = false; }); // before the form's listener
  ui.mode.addEventListener('change', () => {
    // a conversation is one mode: switching starts a new one
    if (app.history.length) newChat();
    app.mode = ui.mode.value === 'completion' ? 'completion' : 'chat';
    showModeUI();
  });
  ui.settingsForm.addEventListener('input', () => {
    showSettingOutputs();
    saveSettings();
    if (app.state === 'idle') showThreads(null);
    if (loadSettingsChanged()) setStatus('Context size and threads apply when the model loads: "Reload the model" in Settings.');
  });
  ui.settingsForm.addEventListener('submit', (e) => e.preventDefault());
  ui.resetSettings.addEventListener('click', () => { applySettings(DEFAULTS); saveSettings(); });
  // (the temperature slider's own listener above marks it as chosen; Reset makes it automatic again)

  // drag and drop a .gguf anywhere on the page
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    ui.dropOverlay.hidden = false;
  });
  window.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
  window.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; ui.dropOverlay.hidden = true; } });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    ui.dropOverlay.hidden = true;
    loadFiles([...e.dataTransfer.files]);
  });
}

function loadFiles(files) {
  if (app.state === 'loading' || app.state === 'generating') {
    setStatus(app.state === 'loading' ? 'A model is loading: cancel it first.' : 'Stop the reply first.');
    return;
  }
  const ggufs = files.filter((f) => /\.gguf$/i.test(f.name));
  if (!ggufs.length) {
    showError(new EdgeqError('FORMAT', `${files.map((f) => f.name).join(', ')}: not a .gguf file`), 'Could not load the file');
    return;
  }
  // several files: the parts of a split model (edgeq orders them by their -0000N-of- number)
  loadModel(ggufs.length === 1 ? ggufs[0] : ggufs, ggufs.length === 1 ? ggufs[0].name : `${ggufs.length} files`);
}

/** Models the demo server offers (GET /models/), for the URL box's suggestions. */
async function listServerModels() {
  try {
    const res = await fetch('/models/', { headers: { Accept: 'application/json' } });
    if (!res.ok || !/json/.test(res.headers.get('content-type') || '')) return [];
    const list = await res.json();
    return Array.isArray(list) ? list.filter((m) => m && typeof m.url === 'string') : [];
  } catch {
    return []; // another static server: no list
  }
}

/** The served models as buttons: readable name, chat or text completion, size. */
function showModelChoices(models) {
  ui.modelChoices.replaceChildren();
  for (const m of models) {
    const known = knownModel(m.name);
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'model-choice';
    b.dataset.url = m.url;
    const title = document.createElement('strong');
    title.textContent = readableName(m.name);
    const sub = document.createElement('span');
    sub.className = 'sub';
    sub.textContent = `${known ? (known.mode === 'completion' ? 'text completion' : 'chat') : m.name} · ${fmtMB(m.size)}`;
    b.append(title, sub);
    b.title = m.name;
    b.addEventListener('click', () => { ui.modelUrl.value = m.url; loadModel(m.url, m.name); });
    ui.modelChoices.append(b);
  }
  ui.modelChoices.hidden = models.length < 2;
}

/** A model already in the browser cache starts loading at once (with its size and Cancel):
 * nothing to download, so nothing to decide. */
async function autoloadCached(url) {
  if (!readSettings().cache || typeof caches === 'undefined') return;
  let size = 0;
  try {
    const store = await caches.open(CACHE_NAME);
    const hit = await store.match(new URL(url, location.href).href);
    size = hit ? Number(hit.headers.get('x-edgeq-size')) || 0 : 0;
  } catch { size = 0; }
  if (size > 0 && app.state === 'idle') loadModel(url, baseName(url), size);
}

async function init() {
  document.body.dataset.touch = TOUCH ? '1' : '0';
  ui.composerHint.hidden = TOUCH;
  setupThreadsSelect();
  applySettings(loadSettings());
  const savedModel = restoreChat();
  showModeUI();
  let open = !matchMedia('(max-width: 900px)').matches;
  try { const v = localStorage.getItem(SETTINGS_KEY + '-open'); if (v !== null) open = v === '1' && open; } catch { /* ignore */ }
  openSettings(open);
  showThreads(null);
  showModelView('pick');
  setState('idle');
  wire();

  const params = new URLSearchParams(location.search);
  const models = await listServerModels();
  for (const m of models) {
    const o = document.createElement('option');
    o.value = m.url;
    o.label = `${m.name} (${fmtMB(m.size)})`;
    ui.modelList.append(o);
  }
  showModelChoices(models);
  ui.modelUrl.value = params.get('model') || savedModel || (models[0] && models[0].url) || DEFAULT_MODEL;
  if (params.has('autoload')) loadModel(ui.modelUrl.value, baseName(ui.modelUrl.value));
  else autoloadCached(ui.modelUrl.value);
}

init();
