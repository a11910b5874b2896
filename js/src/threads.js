// The `threads` option: an integer from 1 to MAX_THREADS (the C library's EQ_MAX_THREADS), else
// a typed ARG error rather than a quiet 1 (`'abc' | 0`) or a pool of 100000 workers. More threads
// than the machine has CPUs run as that many, as the native pool does: the results do not
// depend on the count, and extra workers only cost memory and time slices.
import { EdgeqError } from './errors.js';

export const MAX_THREADS = 512;

/** @param {unknown} value the caller's option (undefined/null: fallback) @param {number} fallback @param {number} cpus */
export function threadCount(value, fallback, cpus) {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (typeof value === 'boolean' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new EdgeqError('ARG', `threads must be an integer from 1 to ${MAX_THREADS}, not ${String(value)}`);
  }
  return cpus > 0 ? Math.min(n, cpus) : n;
}
