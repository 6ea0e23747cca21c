import type { ReplayStore } from './types.js'

/**
 * Bounded in-memory replay store. Keys live until they expire (the freshness window: anything
 * older is quarantined as stale anyway) and at most `maxEntries` are kept; past that the oldest are
 * forgotten first. A Map keeps insertion order, and with one fixed window insertion order is
 * expiry order, so both limits are enforced from the front in amortised O(1).
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #entries = new Map<string, number>()
  readonly #maxEntries: number

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`MemoryReplayStore: maxEntries must be a positive integer, got ${String(maxEntries)}`)
    }
    this.#maxEntries = maxEntries
  }

  get size (): number {
    return this.#entries.size
  }

  claim (key: string, expiresAt: number, now: number): boolean {
    this.#evict(now)
    const existing = this.#entries.get(key)
    if (existing !== undefined && existing > now) return false
    if (existing !== undefined) this.#entries.delete(key)
    this.#entries.set(key, expiresAt)
    if (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
    return true
  }

  release (key: string): void {
    this.#entries.delete(key)
  }

  #evict (now: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt > now) return
      this.#entries.delete(key)
    }
  }
}
