// The traffic: the repo's post-send samples (samples/post_*.json), weighted toward chat messages,
// each request re-stamped (fresh timestamp), given a callId of its own and re-signed with
// src/samples.ts's restamp(), exactly as a test would.
import { loadSamples, restamp, type SampleBody } from '../../src/samples.js'
import { classify } from '../../src/classify.js'

export const SECRET = 'test-secret'

/** Share of chat messages in the mix; the rest is events (acks, recalls, group ops, presence, ...). */
export const MESSAGE_SHARE = 0.7
/** Within messages, a text sample weighs this much more than an img/audio/video/file/... one. */
const TXT_WEIGHT = 4

export interface MixEntry {
  name: string
  kind: string
  message: boolean
  /** Share of all requests, 0..1. */
  share: number
}

export interface Mix {
  entries: MixEntry[]
  /** Sample indexes in a fixed shuffled order; request i uses schedule[i % schedule.length]. */
  schedule: Uint16Array
  samples: SampleBody[]
}

const MESSAGE_KINDS = new Set(['txt', 'img', 'audio', 'video', 'file', 'loc', 'cmd', 'custom', 'combine'])

/** Small deterministic PRNG so that every run sends the same sequence of shapes. */
function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function buildMix (scheduleLength = 1000): Mix {
  const named = [...loadSamples()].filter(([name]) => name.startsWith('post_'))
  if (named.length === 0) throw new Error('no samples/post_*.json found')
  const kinds = named.map(([, body]) => classify(body).kind as string)
  const unknown = named.filter((_, i) => kinds[i] === 'unknown').map(([name]) => name)
  if (unknown.length > 0) throw new Error(`samples the plugin does not recognise (they would not be a realistic mix): ${unknown.join(', ')}`)

  const isMessage = kinds.map(kind => MESSAGE_KINDS.has(kind))
  const raw = named.map(([, ], i) => isMessage[i] ? (kinds[i] === 'txt' ? TXT_WEIGHT : 1) : 1)
  const messageTotal = raw.reduce((sum, w, i) => sum + (isMessage[i] ? w : 0), 0)
  const eventTotal = raw.reduce((sum, w, i) => sum + (isMessage[i] ? 0 : w), 0)
  const shares = raw.map((w, i) => isMessage[i] ? MESSAGE_SHARE * w / messageTotal : (1 - MESSAGE_SHARE) * w / eventTotal)

  // Largest remainder: integer slot counts that add up to scheduleLength, at least one per sample.
  const exact = shares.map(share => share * scheduleLength)
  const counts = exact.map(x => Math.max(1, Math.floor(x)))
  let left = scheduleLength - counts.reduce((a, b) => a + b, 0)
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0])
  for (let k = 0; left > 0; k = (k + 1) % byRemainder.length, left--) counts[byRemainder[k][1]]++
  const schedule = new Uint16Array(counts.reduce((a, b) => a + b, 0))
  let at = 0
  counts.forEach((count, i) => { for (let c = 0; c < count; c++) schedule[at++] = i })
  const random = mulberry32(0xEA5E)
  for (let i = schedule.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = schedule[i]; schedule[i] = schedule[j]; schedule[j] = t
  }

  return {
    samples: named.map(([, body]) => body),
    schedule,
    entries: named.map(([name], i) => ({ name, kind: kinds[i], message: isMessage[i], share: counts[i] / schedule.length }))
  }
}

/** An HTTP/1.1 request as autocannon's own request builder would write it for this body. */
export function httpRequest (host: string, body: Buffer): Buffer {
  const head = `POST / HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\ncontent-type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}

/**
 * Bodies for one phase of one server's run. Every body gets `${sample callId}-${tag}-${n}` as its
 * callId, so no two requests of a run (or of different runs) share one, and the current time as
 * its timestamp.
 */
export class BodySource {
  #next = 0
  #pool: Buffer[] = []
  #poolAt = 0
  /** Bodies signed on the fly because the pool ran out (should be 0 in a timed phase). */
  liveSigned = 0

  /**
   * `frame`, when given, wraps each body before it is stored (the raw feed stores whole HTTP
   * requests, head and body, so that the load generator only writes bytes).
   */
  constructor (readonly mix: Mix, readonly tag: string, readonly frame?: (body: Buffer) => Buffer) {}

  /** One freshly signed body (framed, if this source frames). */
  make (): Buffer {
    const n = this.#next++
    const sample = this.mix.samples[this.mix.schedule[n % this.mix.schedule.length]]
    const body = Buffer.from(JSON.stringify(restamp(sample, SECRET, { timestamp: Date.now(), callId: `${sample.callId}-${this.tag}-${n}` })))
    return this.frame === undefined ? body : this.frame(body)
  }

  /** Signs `count` bodies now, before the clock starts. */
  fill (count: number): void {
    const pool = new Array<Buffer>(count)
    for (let i = 0; i < count; i++) pool[i] = this.make()
    this.#pool = pool
    this.#poolAt = 0
  }

  get poolSize (): number {
    return this.#pool.length
  }

  get poolUsed (): number {
    return this.#poolAt
  }

  /** The next body: from the pool while it lasts, then signed on the fly (never a repeat). */
  next (): Buffer {
    if (this.#poolAt < this.#pool.length) return this.#pool[this.#poolAt++]
    this.liveSigned++
    return this.make()
  }

  /** Lets the pool be collected. */
  drop (): void {
    this.#pool = []
    this.#poolAt = 0
  }
}
