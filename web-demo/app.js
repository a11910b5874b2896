// edgeq chat demo: the npm package's browser entry, no framework. The model is streamed into a
// Web Worker's wasm memory by edgeq.load(); replies stream from llm.chat.completions.create().
// The page's state is in <body data-state>: idle (no model) | loading | ready | generating.
import { load, EdgeqError } from '../js/src/browser.js';

const $ = (id) => document.getElementById(id);
const ui = {
  threadsBadge: $('threads-badge'), modelBadge: $('model-badge'),
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
const DEFAULTS = Object.freeze({
  system: 'You are a helpful assistant.',
  temperature: 0.7,
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
};

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
  ui.prompt.placeholder = ready || generating ? 'Message (Enter to send, Shift+Enter for a new line)' : state === 'loading' ? 'Loading the model…' : 'Load a model to start chatting';
  ui.send.hidden = generating;
  ui.stop.hidden = !generating;
  updateSendButton();
  ui.loadBtn.disabled = state === 'loading' || generating;
  ui.modelUrl.disabled = state === 'loading';
  ui.modelFile.disabled = state === 'loading' || generating;
  ui.changeModel.disabled = generating;
  ui.reloadModel.disabled = !app.llm || generating || state === 'loading';
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
async function loadModel(source, label) {
  if (app.state === 'generating' || app.state === 'loading') return;
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
  const verb = `${isFile ? 'Reading' : 'Downloading'} ${label}`;
  ui.progressLabel.textContent = verb;
  ui.progressBar.value = 0;
  ui.progressBytes.textContent = '';
  ui.progressSpeed.textContent = '';
  const meter = new SpeedMeter();
  let fromCache = false;
  const t0 = performance.now();
  try {
    const llm = await load(source, {
      ...opts,
      signal: ctl.signal,
      onProgress: (p) => showProgress(p, meter, fromCache ? `Reading ${label} from the browser cache` : verb),
      onEvent: (ev) => { if (ev.type === 'cache-hit') fromCache = true; },
    });
    const info = await llm.info();
    app.llm = llm;
    app.info = info;
    app.source = source;
    app.sourceLabel = label;
    app.loadedWith = opts;
    app.template = info.chatTemplate ? null : 'chatml';
    showModelSummary(info, label);
    setState('ready');
    showModelView('ready');
    setStatus(`Loaded in ${fmtSecs(performance.now() - t0)}${fromCache ? ' (from the browser cache)' : ''}.`
      + (app.template ? ' The model has no chat template edgeq recognises: using ChatML.' : ''));
    ui.prompt.focus();
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
  ui.modelName.textContent = label;
  ui.modelName.title = label;
  ui.modelDetails.textContent = [
    ...(info.name && info.name !== label ? [info.name] : []), info.architecture, `${fmtCount(info.nParams)} params`, quant, fmtMB(info.sizeBytes),
    `context ${rt.contextSize}`, info.chatTemplate ? `template ${info.chatTemplate}` : 'no chat template',
  ].join(' · ');
  ui.modelBadge.textContent = `${quant} · ${fmtMB(info.sizeBytes)}`;
  ui.modelBadge.hidden = false;
  showThreads(rt);
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

function addMessage(role, text) {
  ui.emptyState.hidden = true;
  const li = document.createElement('div');
  li.className = `msg ${role}`;
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

async function send(text) {
  if (app.state !== 'ready' || !text.trim()) return;
  clearError();
  setStatus('');
  const s = readSettings();
  const chatId = app.chatId;
  app.history.push({ role: 'user', content: text });
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
  let frame = 0;
  const paint = () => {
    frame = 0;
    const stick = nearBottom();
    renderText(view.bubble, content);
    if (stick) scrollToBottom();
  };
  try {
    const { messages, maxTokens, dropped } = await fitContext(s);
    if (dropped) addNotice(`${dropped} earlier message${dropped > 1 ? 's' : ''} no longer fit the ${app.info.runtime.contextSize}-token context: left out of this reply`);
    const stream = await app.llm.chat.completions.create({
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: maxTokens,
      temperature: s.temperature,
      top_p: s.topP,
      repeat_penalty: s.repeatPenalty,
      ...(app.template ? { template: app.template } : {}),
    }, { signal: ctl.signal });
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
      if (!frame) frame = requestAnimationFrame(paint); // at most one re-render per frame
    }
  } catch (e) {
    if (!(e && e.code === 'ABORTED') && !ctl.signal.aborted) error = e;
  }
  if (frame) cancelAnimationFrame(frame);
  paint();
  const stopped = ctl.signal.aborted;
  app.genCtl = null;
  view.li.classList.remove('streaming', 'waiting');
  view.li.removeAttribute('aria-busy');

  if (chatId === app.chatId) {
    if (content) app.history.push({ role: 'assistant', content });
    else if (error) app.history.pop(); // nothing came back: let the user retry that message
  }
  showReplyStats(view, { t0, tFirst, tLast, pieces, usage, finish, stopped, content });
  if (error) showError(error, 'The reply failed');
  setState(app.llm ? 'ready' : 'idle');
  if (!matchMedia('(pointer: coarse)').matches) ui.prompt.focus();
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
  ui.messages.replaceChildren();
  ui.emptyState.hidden = false;
  clearError();
  ui.prompt.value = '';
  autosize();
  updateSendButton();
  ui.prompt.focus();
}

// ---- settings -----------------------------------------------------------------------------------
function readSettings() {
  const num = (el, d, lo, hi) => { const v = Number(el.value); return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : d; };
  return {
    system: ui.system.value,
    temperature: num(ui.temperature, DEFAULTS.temperature, 0, 2),
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
  ui.temperature.value = s.temperature;
  ui.maxTokens.value = s.maxTokens;
  ui.topP.value = s.topP;
  ui.repeatPenalty.value = s.repeatPenalty;
  ui.contextSize.value = String(s.contextSize);
  if (!ui.contextSize.value) ui.contextSize.value = '0';
  ui.threads.value = String(Math.min(s.threads, MAX_THREADS));
  ui.useCache.checked = !!s.cache;
  showSettingOutputs();
}

function showSettingOutputs() {
  ui.temperatureOut.textContent = Number(ui.temperature.value).toFixed(2);
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
  ui.settingsForm.addEventListener('input', () => {
    showSettingOutputs();
    saveSettings();
    if (app.state === 'idle') showThreads(null);
    if (loadSettingsChanged()) setStatus('Context size and threads apply when the model loads: "Reload the model" in Settings.');
  });
  ui.settingsForm.addEventListener('submit', (e) => e.preventDefault());
  ui.resetSettings.addEventListener('click', () => { applySettings(DEFAULTS); saveSettings(); });

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

async function init() {
  setupThreadsSelect();
  applySettings(loadSettings());
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
  ui.modelUrl.value = params.get('model') || (models[0] && models[0].url) || DEFAULT_MODEL;
  if (params.has('autoload')) loadModel(ui.modelUrl.value, baseName(ui.modelUrl.value));
}

init();
