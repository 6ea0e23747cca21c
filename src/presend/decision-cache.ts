/**
 * Remembers the reply given to each pre-send callId, so that a replay gets the first answer again
 * and the policy's side effects do not run twice. A pending reply is shared: a duplicate that
 * arrives while the first is being decided waits for the same answer. Bounded like the replay
 * store: entries expire after `ttlMs` and the oldest go first past `maxEntries`.
 */
export class DecisionCache {
  readonly #entries = new Map<string, { expiresAt: number, reply: Promise<string> }>()
  readonly #maxEntries: number
  readonly #ttlMs: number

  constructor (maxEntries: number, ttlMs: number) {
    this.#maxEntries = maxEntries
    this.#ttlMs = ttlMs
  }

  get size (): number {
    return this.#entries.size
  }

  /** The reply already given (or being decided) for `key`, if any. */
  get (key: string, now: number): Promise<string> | undefined {
    const entry = this.#entries.get(key)
    return entry !== undefined && entry.expiresAt > now ? entry.reply : undefined
  }

  set (key: string, reply: Promise<string>, now: number): void {
    for (const [oldKey, entry] of this.#entries) {
      if (entry.expiresAt > now) break
      this.#entries.delete(oldKey)
    }
    this.#entries.delete(key)
    this.#entries.set(key, { expiresAt: now + this.#ttlMs, reply })
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
  }
}
