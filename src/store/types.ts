/**
 * A group of replay keys that share one callId, and how many of them may be claimed. Easemob sends
 * a group message's `chat_offline` callbacks, one per offline member, under one callId; the member
 * (`to`) is not signed, so the number of keys one signed callId can open is capped.
 */
export interface FanOut {
  /** The callId the keys share. */
  group: string
  /** The most keys of the group that may be claimed while it is remembered. */
  limit: number
}

/**
 * Remembers which callbacks were already taken, so that a replayed `callId` is not dispatched twice.
 * A shared implementation (Redis, a database) can replace the in-memory one when several replicas
 * receive the same rule's callbacks.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAt` (ms since the epoch) and answers true, or answers false when
   * the key is already recorded and unexpired, or when `fanOut` is given and its group already
   * holds `fanOut.limit` keys. Must be atomic: of two concurrent claims of one key, exactly one wins.
   */
  claim (key: string, expiresAt: number, now: number, fanOut?: FanOut): boolean | Promise<boolean>
  /**
   * Forgets `key` (and gives its place in `fanOut`'s group back), so that Easemob's retry of a
   * callback whose handling failed is taken again.
   */
  release (key: string, fanOut?: FanOut): void | Promise<void>
  close? (): void | Promise<void>
}
