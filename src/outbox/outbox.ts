import type { FastifyBaseLogger } from 'fastify'
import { ERR_BAD_OPTION, ERR_OUTBOX_WRITE_FAILED, ERR_OUTBOX_WRITE_TIMEOUT } from '../errors.js'
import type { CallbackEvent } from '../schemas/kinds.js'
import { settleWithin } from '../thenable.js'
import { OutboxClient } from './client.js'
import { conversationOf } from './conversation.js'
import type { NewRow, RowState, StoredRow } from './database.js'
import { type Deliver, Delivery, type DeliveryOptions } from './delivery.js'

export interface OutboxOptions {
  /** The SQLite file; it and its folder are created when missing. */
  path: string
  /** `full` (default): a callback is on disk before its 200; `normal`: it survives a crash of the process, not of the machine. */
  synchronous?: 'full' | 'normal'
  /** Time a write has before the callback is answered 503 (Easemob then retries), in ms. Default 2000. */
  writeTimeoutMs?: number
  /** Deliveries under way at once. Default 8. */
  concurrency?: number
  /** Deliveries started per second at most; 0: no bound. Default 0. */
  ratePerSecond?: number
  /** Attempts before a callback is dead-lettered. Default 20. */
  maxAttempts?: number
  /** Age past which a failing callback is dead-lettered, in ms. Default 86400000 (24 h). */
  maxAgeMs?: number
  /** First retry delay, doubled per attempt with jitter, in ms. Default 1000. */
  retryBaseMs?: number
  /** Longest retry delay, in ms (also the most a Retry-After is waited). Default 600000 (10 min). */
  retryMaxMs?: number
  /** Time the handlers have per delivery attempt, in ms. Default 30000. */
  attemptTimeoutMs?: number
  /** How long delivered callbacks are kept (as the duplicate memory, and for replay), in ms. Default 86400000 (24 h). */
  retentionMs?: number
  /** At most this many delivered callbacks are kept. Default 1000000. */
  retainRows?: number
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

function positive (options: OutboxOptions, name: keyof OutboxOptions, fallback: number, minimum = 1): number {
  const value = options[name]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new ERR_BAD_OPTION(`outbox.${name}`, `must be an integer of at least ${minimum}, got ${JSON.stringify(value)}`)
  }
  return value
}

interface Settings {
  now: () => number
  synchronous: 'full' | 'normal'
  writeTimeoutMs: number
  attemptTimeoutMs: number
  delivery: DeliveryOptions
}

/** Checks every option once, before anything is opened; a bad one is named. */
function settingsOf (options: OutboxOptions): Settings {
  if (typeof options?.path !== 'string' || options.path.length === 0) throw new ERR_BAD_OPTION('outbox.path', 'must be the path of the outbox file')
  if (options.synchronous !== undefined && options.synchronous !== 'full' && options.synchronous !== 'normal') {
    throw new ERR_BAD_OPTION('outbox.synchronous', "must be 'full' or 'normal'")
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new ERR_BAD_OPTION('outbox.now', 'must be a function returning ms')
  return {
    now: options.now ?? Date.now,
    synchronous: options.synchronous ?? 'full',
    writeTimeoutMs: positive(options, 'writeTimeoutMs', 2000),
    attemptTimeoutMs: positive(options, 'attemptTimeoutMs', 30_000),
    delivery: {
      concurrency: positive(options, 'concurrency', 8),
      ratePerSecond: positive(options, 'ratePerSecond', 0, 0),
      maxAttempts: positive(options, 'maxAttempts', 20),
      maxAgeMs: positive(options, 'maxAgeMs', 86_400_000),
      retryBaseMs: positive(options, 'retryBaseMs', 1000),
      retryMaxMs: positive(options, 'retryMaxMs', 600_000),
      pollMs: 1000,
      pruneEveryMs: 60_000,
      retention: { retentionMs: positive(options, 'retentionMs', 86_400_000), retainRows: positive(options, 'retainRows', 1_000_000) }
    }
  }
}

/**
 * A durable queue in front of the handlers: a callback is written here before its 200, then
 * delivered from here, retried until it is done or dead-lettered. It is also the duplicate memory
 * of the callbacks it holds, across restarts.
 */
export class Outbox {
  readonly client: OutboxClient
  readonly writeTimeoutMs: number
  readonly attemptTimeoutMs: number
  readonly now: () => number
  readonly #delivery: DeliveryOptions
  #worker: Delivery | undefined

  private constructor (client: OutboxClient, settings: Settings) {
    this.client = client
    this.now = settings.now
    this.writeTimeoutMs = settings.writeTimeoutMs
    this.attemptTimeoutMs = settings.attemptTimeoutMs
    this.#delivery = settings.delivery
  }

  /** Opens (or creates) the outbox file; every option is checked first, so nothing is opened for a bad one. */
  static async open (options: OutboxOptions): Promise<Outbox> {
    const settings = settingsOf(options)
    return new Outbox(await OutboxClient.open(options.path, { synchronous: settings.synchronous }), settings)
  }

  /**
   * Writes a verified callback under its replay key; resolves true once it is committed, false when
   * the key is already held. `pending` ones are then delivered; `delivered` ones are only recorded
   * (their handlers run elsewhere); `quarantined` (stale) ones are kept aside.
   */
  async write (event: CallbackEvent, key: string, state: NewRow['state']): Promise<boolean> {
    const row = {
      key,
      callId: event.callId,
      kind: event.kind,
      conversation: conversationOf(event),
      body: JSON.stringify(event),
      receivedAt: this.now(),
      state
    }
    // Handed on when committed, even after the answer gave up waiting for it: it is in the file then.
    const written = this.client.append(row).then(id => {
      if (id !== null && state === 'pending') {
        this.#worker?.offer({ id, callId: row.callId, kind: row.kind, conversation: row.conversation, receivedAt: row.receivedAt, attempts: 0, event })
      }
      return id
    })
    try {
      return await settleWithin(written, this.writeTimeoutMs, () => new ERR_OUTBOX_WRITE_TIMEOUT(this.writeTimeoutMs)) !== null
    } catch (error) {
      if ((error as { code?: string }).code === 'FST_ERR_EASEMOB_OUTBOX_WRITE_TIMEOUT') throw error
      throw new ERR_OUTBOX_WRITE_FAILED({ cause: error })
    }
  }

  /** Forgets a recorded callback whose handlers failed, so that Easemob's retry is taken again. */
  async forget (key: string): Promise<void> {
    await this.client.remove(key)
  }

  /** Starts delivering with `deliver`, logging to `log`. */
  start (deliver: Deliver, log: FastifyBaseLogger): Delivery {
    this.#worker = new Delivery(this.client, deliver, this.#delivery, log, { now: this.now, random: Math.random })
    this.#worker.start()
    return this.#worker
  }

  /** A delivery worker that is not started: tests and tools drive it with drain(). */
  worker (deliver: Deliver, log: FastifyBaseLogger, random: () => number = Math.random): Delivery {
    this.#worker = new Delivery(this.client, deliver, this.#delivery, log, { now: this.now, random })
    return this.#worker
  }

  /** Failed delivery attempts so far: retried later, and given up (dead letters). */
  get failures (): { retried: number, dead: number } {
    return this.#worker?.failures ?? { retried: 0, dead: 0 }
  }

  /** Throws when the outbox cannot be written: what a readiness check asks. */
  async probe (): Promise<void> {
    await this.client.probe(this.now())
  }

  counts (): Promise<Record<RowState, number>> { return this.client.counts() }
  list (query: { state?: RowState, limit?: number, afterId?: number }): Promise<StoredRow[]> { return this.client.list(query) }
  get (id: number): Promise<StoredRow | undefined> { return this.client.get(id) }

  async redeliver (selection: { ids: readonly number[] } | { state: RowState }): Promise<number> {
    const count = await this.client.redeliver(this.now(), selection)
    this.#worker?.rowsPutBack()
    return count
  }

  async replay (from: number, to: number): Promise<number> {
    const count = await this.client.replay(this.now(), from, to)
    this.#worker?.rowsPutBack()
    return count
  }

  /** Stops delivering (waiting up to `timeoutMs` for deliveries under way), then closes the file. */
  async close (timeoutMs = 5000): Promise<void> {
    await this.#worker?.stop(timeoutMs)
    await this.client.close()
  }
}
