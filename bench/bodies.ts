// What the load generator sends: the repo's signed samples, each request re-stamped (timestamp now)
// with a callId never sent before and re-signed, as whole HTTP requests so that autocannon only writes bytes.
import { loadSamples, restamp, type SampleBody } from '../src/samples.js'

/** This run of the benchmark. */
const RUN = Date.now().toString(36)

export const SECRET = 'test-secret'
/** Chat messages' share of the callbacks; the rest are events (acks, recalls, group ops, presence, ...). */
const MESSAGE_SHARE = 0.7
/** A text message sample weighs this many image, audio, file, ... ones. */
const TEXT_WEIGHT = 4

/** 1,000 post-send samples with the mix's shares, shuffled; built once, so that every server gets the same. */
export function callbackDeck (): SampleBody[] {
  const posts = [...loadSamples()].filter(([name]) => name.startsWith('post_'))
  const isMessage = (name: string): boolean => /^post_(group)?chat_/.test(name)
  const weight = (name: string): number => isMessage(name) && name.endsWith('_txt') ? TEXT_WEIGHT : 1
  const total = (messages: boolean): number => posts.reduce((sum, [name]) => sum + (isMessage(name) === messages ? weight(name) : 0), 0)
  const deck = posts.flatMap(([name, body]) => {
    const share = (isMessage(name) ? MESSAGE_SHARE / total(true) : (1 - MESSAGE_SHARE) / total(false)) * weight(name)
    return new Array<SampleBody>(Math.max(1, Math.round(share * 1000))).fill(body)
  })
  for (let i = deck.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[deck[i], deck[j]] = [deck[j], deck[i]]
  }
  return deck
}

/**
 * The requests of one load run, callIds `${sample's}-${run}-${tag}-${n}`: never sent before, in
 * this run or another (a server with shared or durable memory remembers the earlier runs'). fill() signs them before the
 * clock starts; when they run out, next() signs on the fly and counts it in `signedLive`
 * (load-generator work inside the timed run, which the output reports).
 */
export class RequestPool {
  #made = 0
  #ready: Buffer[] = []
  signedLive = 0

  constructor (readonly deck: SampleBody[], readonly host: string, readonly path: string, readonly tag: string) {}

  #sign (): Buffer {
    const sample = this.deck[this.#made % this.deck.length]
    const body = Buffer.from(JSON.stringify(restamp(sample, SECRET, { callId: `${sample.callId}-${RUN}-${this.tag}-${this.#made++}` })))
    const head = `POST ${this.path} HTTP/1.1\r\nHost: ${this.host}\r\nConnection: keep-alive\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`
    return Buffer.concat([Buffer.from(head, 'latin1'), body])
  }

  fill (count: number): this {
    this.#ready = Array.from({ length: count }, () => this.#sign()).reverse()
    return this
  }

  next (): Buffer {
    const ready = this.#ready.pop()
    if (ready !== undefined) return ready
    this.signedLive++
    return this.#sign()
  }
}
