import { foldCodePoint, normaliseWord } from './normalise.js'

// Aho–Corasick over UTF-16 code units of normalised text: one pass over a message finds every
// occurrence of every word, however many words there are. The text is normalised on the fly (see
// normalise.ts), so the no-match path allocates nothing; a small ring buffer remembers where each
// recent normalised unit came from, so every hit is reported as a range of the ORIGINAL string.
//
// Layout, for speed and a small heap: the root's transitions are a dense 64K table (most units
// of a clean message stop there); every other node's children are a sorted slice of two flat
// typed arrays. Failure links make the walk linear in the text's length.

/** Receives each hit: the word's index (as given to the constructor) and its original [start, end). */
export interface HitSink {
  hit: (word: number, start: number, end: number) => void
}

export class WordAutomaton {
  /** The words as given, and normalised (what is actually matched). */
  readonly words: readonly string[]
  readonly normalised: readonly string[]

  readonly #root: Int32Array
  readonly #edgeStart: Int32Array
  readonly #edgeUnit: Uint16Array
  readonly #edgeTarget: Int32Array
  readonly #fail: Int32Array
  /** Word ending exactly at this node, or -1. */
  readonly #output: Int32Array
  /** Nearest node on the failure chain with an output, or 0 (the root has none). */
  readonly #dictionary: Int32Array
  /** Normalised length of each word, in UTF-16 units. */
  readonly #length: Int32Array
  /** Original start of the code point behind each of the last `#ring.length` normalised units. */
  readonly #ring: Int32Array
  readonly #ringMask: number

  /**
   * `words` are normalised here; each must normalise to at least one unit (the compiler reports
   * empty words before). Words that normalise alike share a node: the first one's index is reported.
   */
  constructor (words: readonly string[]) {
    this.words = words
    this.normalised = words.map(normaliseWord)
    const children: Array<Map<number, number>> = [new Map()]
    const output: number[] = [-1]
    let longest = 1
    this.normalised.forEach((word, index) => {
      if (word.length === 0) throw new Error(`word ${JSON.stringify(words[index])} is empty once normalised`)
      longest = Math.max(longest, word.length)
      let node = 0
      for (let i = 0; i < word.length; i++) {
        const unit = word.charCodeAt(i)
        let next = children[node].get(unit)
        if (next === undefined) {
          next = children.length
          children.push(new Map())
          output.push(-1)
          children[node].set(unit, next)
        }
        node = next
      }
      if (output[node] === -1) output[node] = index
    })

    const nodes = children.length
    let edges = 0
    for (const map of children) edges += map.size
    this.#root = new Int32Array(0x10000)
    this.#edgeStart = new Int32Array(nodes + 1)
    this.#edgeUnit = new Uint16Array(edges)
    this.#edgeTarget = new Int32Array(edges)
    let edge = 0
    for (let node = 0; node < nodes; node++) {
      this.#edgeStart[node] = edge
      for (const [unit, target] of [...children[node]].sort((a, b) => a[0] - b[0])) {
        this.#edgeUnit[edge] = unit
        this.#edgeTarget[edge] = target
        edge++
      }
    }
    this.#edgeStart[nodes] = edge
    for (const [unit, target] of children[0]) this.#root[unit] = target

    // Breadth first: a node's failure link is the longest proper suffix of its path in the trie.
    this.#fail = new Int32Array(nodes)
    this.#output = Int32Array.from(output)
    this.#dictionary = new Int32Array(nodes)
    const queue: number[] = [...children[0].values()]
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head]
      for (const [unit, child] of children[node]) {
        let fallback = this.#fail[node]
        let target = this.#next(fallback, unit)
        while (target === -1) {
          fallback = this.#fail[fallback]
          target = this.#next(fallback, unit)
        }
        this.#fail[child] = target === child ? 0 : target
        const suffix = this.#fail[child]
        this.#dictionary[child] = this.#output[suffix] !== -1 ? suffix : this.#dictionary[suffix]
        queue.push(child)
      }
    }

    this.#length = Int32Array.from(this.normalised, word => word.length)
    let ring = 1
    while (ring < longest) ring <<= 1
    this.#ring = new Int32Array(ring)
    this.#ringMask = ring - 1
  }

  get size (): number {
    return this.words.length
  }

  /** Child of `node` by `unit`; -1 if none (the root always has one: itself). */
  #next (node: number, unit: number): number {
    if (node === 0) return this.#root[unit]
    let low = this.#edgeStart[node]
    let high = this.#edgeStart[node + 1] - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const found = this.#edgeUnit[middle]
      if (found === unit) return this.#edgeTarget[middle]
      if (found < unit) low = middle + 1
      else high = middle - 1
    }
    return -1
  }

  /**
   * Reports every occurrence of every word in `text` to `sink`, overlapping ones included, in the
   * order they end. Synchronous and not re-entrant (the ring buffer is shared): do not scan again
   * from inside `sink.hit`.
   */
  scan (text: string, sink: HitSink): void {
    const ring = this.#ring
    const ringMask = this.#ringMask
    let state = 0
    let position = 0
    for (let i = 0; i < text.length;) {
      const unit = text.charCodeAt(i)
      if (unit < 0x80) {
        ring[position & ringMask] = i
        position++
        state = this.#step(state, unit >= 0x41 && unit <= 0x5A ? unit + 0x20 : unit)
        if (state !== 0 && (this.#output[state] !== -1 || this.#dictionary[state] !== 0)) this.#report(state, position, i + 1, sink)
        i++
        continue
      }
      const codePoint = text.codePointAt(i) as number
      const width = codePoint > 0xFFFF ? 2 : 1
      const folded = foldCodePoint(codePoint)
      const end = i + width
      const piece = folded === null ? width : folded.length
      for (let k = 0; k < piece; k++) {
        ring[position & ringMask] = i
        position++
        state = this.#step(state, folded === null ? text.charCodeAt(i + k) : folded.charCodeAt(k))
        if (state !== 0 && (this.#output[state] !== -1 || this.#dictionary[state] !== 0)) this.#report(state, position, end, sink)
      }
      i = end
    }
  }

  #step (state: number, unit: number): number {
    for (;;) {
      const next = this.#next(state, unit)
      if (next !== -1) return next
      state = this.#fail[state]
    }
  }

  #report (state: number, position: number, end: number, sink: HitSink): void {
    for (let node = this.#output[state] !== -1 ? state : this.#dictionary[state]; node !== 0; node = this.#dictionary[node]) {
      const word = this.#output[node]
      sink.hit(word, this.#ring[(position - this.#length[word]) & this.#ringMask], end)
    }
  }

  /** Every occurrence, as original ranges: for tests and tools, not the hot path. */
  findAll (text: string): Array<{ word: string, start: number, end: number }> {
    const found: Array<{ word: string, start: number, end: number }> = []
    this.scan(text, { hit: (word, start, end) => { found.push({ word: this.words[word], start, end }) } })
    return found
  }
}
