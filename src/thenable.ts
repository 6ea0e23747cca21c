/** Whether a handler, store or policy answered with a promise; sync answers take the fast path. */
export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}
