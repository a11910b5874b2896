// Typed errors: every failure the package reports is an EdgeqError with a stable `code`.

/** Codes from the C core (eq_status) and from the JavaScript side. */
export const ErrorCode = Object.freeze({
  IO: 'IO',                     // a file could not be opened or read
  FORMAT: 'FORMAT',             // malformed or truncated input (not GGUF, cut short, ...)
  UNSUPPORTED: 'UNSUPPORTED',   // well-formed but not something edgeq runs
  NOMEM: 'NOMEM',               // out of memory (the model is larger than the memory granted)
  ARG: 'ARG',                   // bad argument
  CONTEXT_FULL: 'CONTEXT_FULL', // more tokens than the context holds
  ABORTED: 'ABORTED',           // an AbortSignal fired
  HTTP: 'HTTP',                 // the server answered with an error status (see .status)
  NETWORK: 'NETWORK',           // the connection failed and could not be resumed
  DISPOSED: 'DISPOSED',         // the model was disposed
  RUNTIME: 'RUNTIME',           // the WebAssembly module could not start (or crashed)
  GPU_LOST: 'GPU_LOST',         // the GPU failed or was lost mid-generation (the next call runs on the CPU)
});

const STATUS_CODES = [null, 'IO', 'FORMAT', 'UNSUPPORTED', 'NOMEM', 'ARG', 'CONTEXT_FULL', 'ABORTED', 'FORMAT', 'GPU_LOST'];

export class EdgeqError extends Error {
  /**
   * @param {string} code one of ErrorCode
   * @param {string} message
   * @param {{status?: number, cause?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'EdgeqError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
  }

  toJSON() {
    return { name: this.name, code: this.code, message: this.message, status: this.status };
  }

  static fromJSON(o) {
    return new EdgeqError(o.code || 'RUNTIME', o.message || 'unknown error', { status: o.status });
  }
}

/** EdgeqError for an eq_status value. */
export function statusError(st, message) {
  return new EdgeqError(STATUS_CODES[st] || 'RUNTIME', message);
}

export function abortError(signal, what = 'aborted') {
  const reason = signal && signal.reason;
  const msg = reason instanceof Error && reason.name !== 'AbortError' ? `${what}: ${reason.message}` : what;
  return new EdgeqError('ABORTED', msg, { cause: reason });
}

/** Any thrown value as an EdgeqError (wasm traps and other surprises become RUNTIME). */
export function asEdgeqError(e) {
  if (e instanceof EdgeqError) return e;
  if (e && e.name === 'AbortError') return new EdgeqError('ABORTED', 'aborted', { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new EdgeqError('RUNTIME', msg, { cause: e });
}
