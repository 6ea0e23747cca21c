/** Whether a handler, store or policy answered with a promise; sync answers take the fast path. */
export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

export type MaybePromise<T> = T | Promise<T>

/**
 * `next(value)`, at once when `value` is not a promise. The callback path stays synchronous while
 * the duplicate memory and the handlers are (the common case): no promise, no microtask, which
 * the benchmark measures as a clear share of a callback's cost.
 */
export function then<T, U> (value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable(value) ? (value as Promise<T>).then(next) : next(value as T)
}

/** Runs `work`; when it throws or rejects, `undo` runs (awaited if it is async) before the error goes on. */
export function undoOnFailure<T> (work: () => MaybePromise<T>, undo: () => MaybePromise<void>): MaybePromise<T> {
  const fail = (error: unknown): MaybePromise<never> => then(undo(), () => { throw error })
  let result: MaybePromise<T>
  try {
    result = work()
  } catch (error) {
    return fail(error)
  }
  return isThenable(result) ? (result as Promise<T>).catch(fail) : result
}

/**
 * Settles as `work` does, or rejects with `late()` after `ms`. Work that is late may still finish:
 * each caller decides what that means for it.
 */
export function settleWithin<T> (work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(late()), ms) })
  return Promise.race([work, deadline]).finally(() => { clearTimeout(timer) })
}
