import { BoundedExpiringMap } from './bounded-map.js'
import type { ReplayStore } from './types.js'

/**
 * Bounded in-memory replay store. Keys live until they expire (the freshness window: anything
 * older is quarantined as stale anyway) and at most `maxEntries` are kept; past that the oldest are
 * forgotten first.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen: BoundedExpiringMap<true>

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`MemoryReplayStore: maxEntries must be a positive integer, got ${String(maxEntries)}`)
    }
    this.#seen = new BoundedExpiringMap(maxEntries)
  }

  get size (): number {
    return this.#seen.size
  }

  claim (key: string, expiresAt: number, now: number): boolean {
    if (this.#seen.get(key, now) !== undefined) return false
    this.#seen.set(key, true, expiresAt, now)
    return true
  }

  release (key: string): void {
    this.#seen.delete(key)
  }
}
