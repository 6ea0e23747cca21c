/**
 * Remembers which callbacks were already taken, so that a replayed `callId` is not dispatched twice.
 * A shared implementation (Redis, a database) can replace the in-memory one when several replicas
 * receive the same rule's callbacks.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAt` (ms since the epoch) and answers true, or answers false when
   * the key is already recorded and unexpired. Must be atomic: of two concurrent claims of one key,
   * exactly one wins.
   */
  claim (key: string, expiresAt: number, now: number): boolean | Promise<boolean>
  /** Forgets `key`, so that Easemob's retry of a callback whose handler failed is dispatched again. */
  release (key: string): void | Promise<void>
  close? (): void | Promise<void>
}
