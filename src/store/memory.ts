import { BoundedExpiringMap, type Bounds } from './bounded-map.js'
import type { FanOut, ReplayStore } from './types.js'

/**
 * Bounded in-memory replay store. Keys live until they expire (the freshness window: anything
 * older is quarantined as stale anyway), within `maxEntries` and `maxBytes`; past either the
 * oldest are forgotten first. Per process: replicas need a shared store.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen: BoundedExpiringMap<true>
  /** How many keys each fan-out group holds. */
  readonly #groups: BoundedExpiringMap<number>

  constructor (maxEntries: number, maxBytes?: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`MemoryReplayStore: maxEntries must be a positive integer, got ${String(maxEntries)}`)
    }
    const bounds: Bounds = { maxEntries, maxBytes }
    this.#seen = new BoundedExpiringMap(bounds)
    this.#groups = new BoundedExpiringMap(bounds)
  }

  get size (): number {
    return this.#seen.size
  }

  /** What the remembered keys take, counted as `maxBytes` counts them. */
  get bytes (): number {
    return this.#seen.bytes + this.#groups.bytes
  }

  claim (key: string, expiresAt: number, now: number, fanOut?: FanOut): boolean {
    if (this.#seen.get(key, now) !== undefined) return false
    if (fanOut !== undefined) {
      // The count lives as long as the group's first key: the cap holds per freshness window.
      const held = this.#groups.get(fanOut.group, now)
      if (held === undefined) this.#groups.set(fanOut.group, 1, expiresAt, now)
      else if (held >= fanOut.limit) return false
      else this.#groups.replace(fanOut.group, held + 1)
    }
    this.#seen.set(key, true, expiresAt, now)
    return true
  }

  release (key: string, fanOut?: FanOut): void {
    this.#seen.delete(key)
    if (fanOut === undefined) return
    // Reading at time 0 sees any entry still held; a group that has expired needs nothing back.
    const held = this.#groups.get(fanOut.group, 0)
    if (held !== undefined && held > 0) this.#groups.replace(fanOut.group, held - 1)
  }
}
