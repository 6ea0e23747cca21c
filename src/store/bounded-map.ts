/**
 * A map whose entries expire and whose size is bounded: past `maxEntries` the oldest entry is
 * forgotten first. Shared by the replay store and the pre-send decision cache.
 *
 * Entries live in a fixed ring (key, value, expiry) in insertion order, which says what to forget
 * next; the Map only says which ring slot holds a key. Two measured reasons for this layout:
 * - Forgetting from the front of the Map itself would be simpler, but V8 leaves deleted Map
 *   entries as holes until it rehashes, so finding the oldest live key gets slower the longer the
 *   map runs at its bound (80-130 µs per insertion at 100,000 entries).
 * - A slot number is a small integer, which V8 stores in the Map without allocating; an
 *   `{ value, expiresAt }` object per entry cost an allocation, and a copy by the garbage collector
 *   for as long as the entry lived (about half of a replay claim's cost).
 * Entries must be set with non-decreasing expiries (one fixed lifetime from a monotonic-enough clock)
 * for expiry to be found at the front of the ring.
 */
export class BoundedExpiringMap<V> {
  readonly #slots = new Map<string, number>()
  readonly #keys: Array<string | undefined>
  readonly #values: Array<V | undefined>
  readonly #expiries: Float64Array
  #head = 0
  #count = 0

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`)
    }
    this.#keys = new Array<string | undefined>(maxEntries).fill(undefined)
    this.#values = new Array<V | undefined>(maxEntries).fill(undefined)
    this.#expiries = new Float64Array(maxEntries)
  }

  get size (): number {
    return this.#slots.size
  }

  /** The unexpired value of `key`, if any. */
  get (key: string, now: number): V | undefined {
    const slot = this.#slots.get(key)
    return slot !== undefined && this.#expiries[slot] > now ? this.#values[slot] : undefined
  }

  set (key: string, value: V, expiresAt: number, now: number): void {
    while (this.#count > 0 && this.#expiries[this.#head] <= now) this.#dropOldest()
    const capacity = this.#keys.length
    if (this.#count === capacity) this.#dropOldest()
    let tail = this.#head + this.#count
    if (tail >= capacity) tail -= capacity
    this.#keys[tail] = key
    this.#values[tail] = value
    this.#expiries[tail] = expiresAt
    this.#count++
    this.#slots.set(key, tail)
  }

  delete (key: string): void {
    // The ring slot stays until it is the oldest; #dropOldest then sees the key no longer points at it.
    this.#slots.delete(key)
  }

  #dropOldest (): void {
    const head = this.#head
    const key = this.#keys[head] as string
    if (this.#slots.get(key) === head) this.#slots.delete(key)
    this.#keys[head] = undefined
    this.#values[head] = undefined
    this.#head = head + 1 === this.#keys.length ? 0 : head + 1
    this.#count--
  }
}
