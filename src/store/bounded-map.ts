/** Room an entry takes besides its key's characters: Map entry, ring slots, string header. */
const ENTRY_BYTES = 64

export interface Bounds {
  /** Most entries kept; past it the oldest is forgotten first. */
  maxEntries: number
  /** Most bytes kept, keys counted at two bytes per character plus a fixed cost per entry. */
  maxBytes?: number
}

/**
 * A map whose entries expire and whose size is bounded in entries and in bytes: past either bound
 * the oldest entry is forgotten first. Shared by the replay store and the pre-send decision cache.
 *
 * Entries live in a fixed ring (key, value, expiry) in insertion order, which says what to forget
 * next; the Map only says which ring slot holds a key. Forgetting from the front of the Map itself
 * would be simpler, but V8 leaves deleted Map entries as holes until it rehashes, so finding the
 * oldest live key would get slower the longer the map runs at its bound. A slot number is a small
 * integer, which V8 keeps in the Map without allocating an object per entry.
 *
 * Entries must be set with non-decreasing expiries (one fixed lifetime from a monotonic-enough
 * clock) for expiry to be found at the front of the ring. Callers bound key length: V8 hashes a
 * string by its contents only up to a length, and longer keys of equal length collide.
 */
export class BoundedExpiringMap<V> {
  readonly #slots = new Map<string, number>()
  readonly #keys: Array<string | undefined>
  readonly #values: Array<V | undefined>
  readonly #expiries: Float64Array
  readonly #maxBytes: number
  #head = 0
  #count = 0
  #bytes = 0

  constructor ({ maxEntries, maxBytes = Number.POSITIVE_INFINITY }: Bounds) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`)
    }
    if (!(maxBytes > ENTRY_BYTES)) throw new RangeError(`maxBytes must be more than ${ENTRY_BYTES}, got ${String(maxBytes)}`)
    this.#keys = new Array<string | undefined>(maxEntries).fill(undefined)
    this.#values = new Array<V | undefined>(maxEntries).fill(undefined)
    this.#expiries = new Float64Array(maxEntries)
    this.#maxBytes = maxBytes
  }

  get size (): number {
    return this.#slots.size
  }

  /** What the entries held take, in the unit of `maxBytes`. */
  get bytes (): number {
    return this.#bytes
  }

  /** The unexpired value of `key`, if any. */
  get (key: string, now: number): V | undefined {
    const slot = this.#slots.get(key)
    return slot !== undefined && this.#expiries[slot] > now ? this.#values[slot] : undefined
  }

  set (key: string, value: V, expiresAt: number, now: number): void {
    while (this.#count > 0 && this.#expiries[this.#head] <= now) this.#dropOldest()
    const cost = key.length * 2 + ENTRY_BYTES
    const capacity = this.#keys.length
    while (this.#count > 0 && (this.#count === capacity || this.#bytes + cost > this.#maxBytes)) this.#dropOldest()
    let tail = this.#head + this.#count
    if (tail >= capacity) tail -= capacity
    this.#keys[tail] = key
    this.#values[tail] = value
    this.#expiries[tail] = expiresAt
    this.#count++
    this.#bytes += cost
    this.#slots.set(key, tail)
  }

  /** Changes the value of a held key in place: its expiry and its place in the ring stay. */
  replace (key: string, value: V): void {
    const slot = this.#slots.get(key)
    if (slot !== undefined) this.#values[slot] = value
  }

  delete (key: string): void {
    // The ring slot stays until it is the oldest; #dropOldest then sees the key no longer points at it.
    this.#slots.delete(key)
  }

  #dropOldest (): void {
    const head = this.#head
    const key = this.#keys[head] as string
    if (this.#slots.get(key) === head) this.#slots.delete(key)
    this.#bytes -= key.length * 2 + ENTRY_BYTES
    this.#keys[head] = undefined
    this.#values[head] = undefined
    this.#head = head + 1 === this.#keys.length ? 0 : head + 1
    this.#count--
  }
}
