import type { FastifyBaseLogger } from 'fastify'
import type { OutboxClient } from './client.js'
import type { Retention, Settlement, StoredRow } from './database.js'

export interface DeliveryOptions {
  /** Deliveries under way at once. */
  concurrency: number
  /** Deliveries started per second at most; 0: no bound. */
  ratePerSecond: number
  /** Attempts before a row is dead-lettered. */
  maxAttempts: number
  /** Age (since it was received) past which a failing row is dead-lettered, in ms. */
  maxAgeMs: number
  /** First retry delay; doubled per attempt, with jitter, up to retryMaxMs. */
  retryBaseMs: number
  retryMaxMs: number
  /** How often to look for work that did not announce itself (rows an operator put back), in ms. */
  pollMs: number
  retention: Retention
  /** How often delivered rows are pruned, in ms. */
  pruneEveryMs: number
}

/**
 * Delivers one row; rejects to have it retried. An error (or its cause) with `retryAfterMs` sets
 * the delay. Must settle: bound its time itself.
 */
export type Deliver = (row: StoredRow, attempt: number) => Promise<void>

export interface Clock {
  now: () => number
  random: () => number
}

/** The delay a failure asks for (an HTTP Retry-After, say), in ms. */
function retryAfterOf (error: unknown): number | undefined {
  for (let cause = error; typeof cause === 'object' && cause !== null; cause = (cause as { cause?: unknown }).cause) {
    const value = (cause as { retryAfterMs?: unknown }).retryAfterMs
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  }
  return undefined
}

function describe (error: unknown): string {
  const text = error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error)
  return text.slice(0, 500)
}

/**
 * Takes due rows from the outbox and delivers them: at most `concurrency` at once and
 * `ratePerSecond` started per second, in order within a conversation (the outbox only offers a
 * conversation's oldest pending row), retried with exponential backoff and jitter, dead-lettered
 * after `maxAttempts` or `maxAgeMs`. Only a bounded number of rows is in memory at a time: a
 * backlog stays on disk.
 */
export class Delivery {
  readonly #inFlight = new Map<number, Promise<void>>()
  #started = false
  #stopped = false
  #filling = false
  #again = false
  #timer: NodeJS.Timeout | undefined
  #pruneTimer: NodeJS.Timeout | undefined
  #tokens: number
  #tokensAt: number

  constructor (
    readonly outbox: OutboxClient,
    readonly deliver: Deliver,
    readonly options: DeliveryOptions,
    readonly log: FastifyBaseLogger,
    readonly clock: Clock = { now: Date.now, random: Math.random }
  ) {
    this.#tokens = Math.max(1, options.ratePerSecond)
    this.#tokensAt = clock.now()
  }

  get inFlight (): number {
    return this.#inFlight.size
  }

  /** Starts delivering, and keeps looking for due rows and pruning until stop(). */
  start (): void {
    this.#started = true
    this.#pruneTimer = setInterval(() => { this.prune().catch(error => this.log.error({ err: error }, 'outbox prune failed')) }, this.options.pruneEveryMs)
    this.#pruneTimer.unref()
    this.kick()
  }

  /** New rows (or freed capacity): look for due rows soon. */
  kick (): void {
    if (this.#started && !this.#stopped) this.#fill().catch(error => this.log.error({ err: error }, 'outbox delivery failed to read the outbox'))
  }

  /** Stops starting deliveries; waits up to `timeoutMs` for those under way. */
  async stop (timeoutMs: number): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    clearInterval(this.#pruneTimer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(this.#inFlight.values()),
      new Promise(resolve => { timer = setTimeout(resolve, timeoutMs) })
    ])
    clearTimeout(timer)
  }

  /** Delivers everything due now, and what becomes due through those deliveries, then returns (for tests and tools). */
  async drain (): Promise<void> {
    for (;;) {
      await this.#fill()
      if (this.#inFlight.size === 0) return
      await Promise.race(this.#inFlight.values())
    }
  }

  async prune (): Promise<number> {
    return await this.outbox.prune(this.clock.now(), this.options.retention)
  }

  async #fill (): Promise<void> {
    // One reader at a time; a kick that arrives meanwhile makes it read once more.
    if (this.#filling) {
      this.#again = true
      return
    }
    this.#filling = true
    try {
      do {
        this.#again = false
        await this.#fillOnce()
      } while (this.#again && !this.#stopped)
    } finally {
      this.#filling = false
    }
  }

  async #fillOnce (): Promise<void> {
    const { concurrency } = this.options
    if (this.#inFlight.size < concurrency) {
      const now = this.clock.now()
      // Rows under way are still pending in the file and come back: ask for enough to skip them.
      const rows = await this.outbox.due(now, concurrency + this.#inFlight.size)
      for (const row of rows) {
        if (this.#inFlight.size >= concurrency || this.#stopped) break
        if (this.#inFlight.has(row.id)) continue
        const wait = this.#takeToken()
        if (wait > 0) return this.#wake(wait)
        this.#begin(row)
      }
    }
    if (this.#started && !this.#stopped) {
      const next = await this.outbox.nextDue()
      const wait = next === null ? this.options.pollMs : Math.max(0, Math.min(this.options.pollMs, next - this.clock.now()))
      this.#wake(this.#inFlight.size >= concurrency ? this.options.pollMs : wait)
    }
  }

  #wake (ms: number): void {
    if (!this.#started || this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.kick() }, Math.max(ms, 1))
    this.#timer.unref()
  }

  /** 0 when a delivery may start now (and counts it), else the ms until one may. */
  #takeToken (): number {
    const { ratePerSecond } = this.options
    if (ratePerSecond <= 0) return 0
    const now = this.clock.now()
    this.#tokens = Math.min(ratePerSecond, this.#tokens + (now - this.#tokensAt) * ratePerSecond / 1000)
    this.#tokensAt = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return Math.ceil((1 - this.#tokens) * 1000 / ratePerSecond)
  }

  #begin (row: StoredRow): void {
    const attempt = row.attempts + 1
    const done = this.#attempt(row, attempt)
      .then(settlement => this.outbox.settle(settlement))
      .catch(error => { this.log.error({ err: error, callId: row.callId }, 'outbox could not record a delivery; it will be attempted again') })
      .finally(() => {
        this.#inFlight.delete(row.id)
        this.kick()
      })
    this.#inFlight.set(row.id, done)
  }

  async #attempt (row: StoredRow, attempt: number): Promise<Settlement> {
    try {
      await this.deliver(row, attempt)
      return { id: row.id, delivered: true, at: this.clock.now() }
    } catch (error) {
      return this.#failure(row, attempt, error)
    }
  }

  #failure (row: StoredRow, attempt: number, error: unknown): Settlement {
    const { maxAttempts, maxAgeMs, retryBaseMs, retryMaxMs } = this.options
    const now = this.clock.now()
    const reason = describe(error)
    const fields = { callId: row.callId, kind: row.kind, attempt, error: reason }
    if (attempt >= maxAttempts || now - row.receivedAt >= maxAgeMs) {
      this.log.error(fields, 'outbox delivery failed for good: dead-lettered')
      return { id: row.id, delivered: false, error: reason, nextAttemptAt: null }
    }
    const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1))
    const delay = Math.min(retryMaxMs, retryAfterOf(error) ?? backoff / 2 + this.clock.random() * backoff / 2)
    this.log.warn({ ...fields, retryInMs: Math.round(delay) }, 'outbox delivery failed; will retry')
    return { id: row.id, delivered: false, error: reason, nextAttemptAt: now + Math.round(delay) }
  }
}
