/**
 * Pre-send replies shared by replicas, so that Easemob's replay of a pre-send request reaching
 * another replica gets the same decision (a Redis implementation comes with the package).
 */
export interface SharedDecisions {
  /** The reply a replica already sent for `callId`, if any. */
  get: (callId: string) => Promise<string | undefined>
  /** Keeps `reply` for `callId` for `ttlMs` unless one is kept already; resolves with the kept one. */
  keep: (callId: string, reply: string, ttlMs: number) => Promise<string>
}
