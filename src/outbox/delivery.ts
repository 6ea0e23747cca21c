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

/** A callback to deliver: its row's bookkeeping and the event itself. */
export interface Pending {
  id: number
  callId: string
  kind: string
  conversation: string | null
  receivedAt: number
  /** Attempts already made. */
  attempts: number
  event: unknown
}

/**
 * Delivers one callback; rejects to have it retried. An error (or its cause) with `retryAfterMs`
 * sets the delay. Must settle: bound its time itself.
 */
export type Deliver = (pending: Pending, attempt: number) => Promise<void>

export interface Clock {
  now: () => number
  random: () => number
}

/** Callbacks kept in memory for delivery at most; past it they are read back from the file. */
const QUEUE_LIMIT = 10_000

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

function pendingOf ({ body, ...row }: StoredRow): Pending {
  return { ...row, event: JSON.parse(body) as unknown }
}

/**
 * Delivers what the outbox holds: at most `concurrency` at once and `ratePerSecond` started per
 * second, one at a time and in order within a conversation, retried with exponential backoff and
 * jitter, dead-lettered after `maxAttempts` or `maxAgeMs`.
 *
 * Two ways to find work. While nothing in the file waits but what this process has just written,
 * new callbacks are delivered from memory as their commits complete (the common case, which costs
 * no read). Otherwise (at start, after a failure, after an operator put rows back, or with too much
 * in memory) the file is read: due rows, oldest first, at most one per conversation, until none is
 * pending; then memory takes over again. Only a bounded number of callbacks is in memory at a
 * time: a backlog stays on disk.
 */
export class Delivery {
  /** Until its result is recorded: a row still pending in the file, skipped when the file is read. */
  readonly #unsettled = new Map<number, Promise<void>>()
  /** Handlers running, with their conversations. */
  readonly #running = new Map<number, string | null>()
  /** Conversations with a callback running or ready: the next ones wait in #waiting. */
  readonly #held = new Set<string>()
  readonly #waiting = new Map<string, Pending[]>()
  /** Callbacks that may start, oldest first. */
  #ready: Pending[] = []
  #queued = 0
  /** Delivering from memory; false: from the file. */
  #fromMemory = false
  /** The newest id committed by this process. */
  #newest = 0
  #started = false
  #stopped = false
  #reading = false
  #readAgain = false
  #timer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #pruneTimer: NodeJS.Timeout | undefined
  #tokens: number
  #tokensAt: number
  /** Failed attempts so far: retried later, and given up (dead letters). */
  readonly failures = { retried: 0, dead: 0 }

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

  /** Starts delivering, and keeps looking for due rows and pruning until stop(). */
  start (): void {
    this.#started = true
    this.#pruneTimer = setInterval(() => { this.prune().catch(error => this.log.error({ err: error }, 'outbox prune failed')) }, this.options.pruneEveryMs)
    this.#pruneTimer.unref()
    this.#pollTimer = setInterval(() => { this.#check().catch(error => this.log.error({ err: error }, 'outbox check failed')) }, this.options.pollMs)
    this.#pollTimer.unref()
    this.kick()
  }

  /** A callback just committed: delivered from memory when the file holds nothing older to deliver. */
  offer (pending: Pending): void {
    this.#newest = Math.max(this.#newest, pending.id)
    if (!this.#fromMemory || this.#stopped) return this.kick()
    if (this.#queued >= QUEUE_LIMIT) return this.#fromFile()
    this.#queued++
    const { conversation } = pending
    if (conversation === null || !this.#held.has(conversation)) {
      if (conversation !== null) this.#held.add(conversation)
      this.#ready.push(pending)
    } else {
      const waiting = this.#waiting.get(conversation)
      if (waiting === undefined) this.#waiting.set(conversation, [pending])
      else waiting.push(pending)
    }
    this.#pump()
  }

  /** Something may be due in the file (rows put back, freed capacity): look soon. */
  kick (): void {
    if (this.#started && !this.#stopped && !this.#fromMemory) this.#read().catch(error => this.log.error({ err: error }, 'outbox delivery failed to read the outbox'))
  }

  /** Rows were put back in the queue by an operator: deliver from the file until it is drained. */
  rowsPutBack (): void {
    this.#fromFile()
  }

  /** Stops starting deliveries; waits up to `timeoutMs` for those under way. */
  async stop (timeoutMs: number): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    clearInterval(this.#pollTimer)
    clearInterval(this.#pruneTimer)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(this.#unsettled.values()),
      new Promise(resolve => { timer = setTimeout(resolve, timeoutMs) })
    ])
    clearTimeout(timer)
  }

  /** Delivers everything due now in the file, and what becomes due through those deliveries, then returns (for tests and tools). */
  async drain (): Promise<void> {
    for (;;) {
      await this.#read()
      if (this.#unsettled.size === 0) return
      await Promise.race(this.#unsettled.values())
    }
  }

  async prune (): Promise<number> {
    return await this.outbox.prune(this.clock.now(), this.options.retention)
  }

  #fromFile (): void {
    this.#fromMemory = false
    // What was waiting in memory is pending in the file too, and is read from there in order.
    this.#ready = []
    this.#waiting.clear()
    this.#queued = 0
    this.#held.clear()
    for (const conversation of this.#running.values()) if (conversation !== null) this.#held.add(conversation)
    this.kick()
  }

  /** While delivering from memory: does the file hold pending rows that memory does not know of? */
  async #check (): Promise<void> {
    if (!this.#fromMemory || this.#stopped) return
    const newest = this.#newest
    const inFile = await this.outbox.pendingUpTo(newest)
    const known = this.#queued + this.#unsettled.size
    if (this.#fromMemory && inFile > known) this.#fromFile()
  }

  /** From memory: start what may start, oldest first. */
  #pump (): void {
    while (this.#ready.length > 0 && this.#running.size < this.options.concurrency && !this.#stopped) {
      const wait = this.#takeToken()
      if (wait > 0) return this.#wake(wait, () => { this.#pump() })
      const pending = this.#ready.shift() as Pending
      this.#queued--
      this.#begin(pending)
    }
  }

  /** A conversation's callback is done: its next one, if waiting, may start. */
  #release (conversation: string | null): void {
    if (conversation === null) return
    const next = this.#fromMemory ? this.#waiting.get(conversation)?.shift() : undefined
    if (next === undefined) {
      this.#held.delete(conversation)
      this.#waiting.delete(conversation)
    } else {
      this.#ready.push(next)
    }
  }

  async #read (): Promise<void> {
    // One reader at a time; a kick that arrives meanwhile makes it read once more.
    if (this.#reading) {
      this.#readAgain = true
      return
    }
    this.#reading = true
    try {
      do {
        this.#readAgain = false
        await this.#readOnce()
      } while (this.#readAgain && !this.#stopped && !this.#fromMemory)
    } finally {
      this.#reading = false
    }
  }

  async #readOnce (): Promise<void> {
    const { concurrency, pollMs } = this.options
    if (this.#running.size < concurrency) {
      // Rows under way are still pending in the file and come back: ask for enough to skip them.
      const rows = await this.outbox.due(this.clock.now(), concurrency + this.#unsettled.size)
      for (const row of rows) {
        if (this.#running.size >= concurrency || this.#stopped) break
        if (this.#unsettled.has(row.id) || (row.conversation !== null && this.#held.has(row.conversation))) continue
        const wait = this.#takeToken()
        if (wait > 0) return this.#wake(wait, () => { this.kick() })
        if (row.conversation !== null) this.#held.add(row.conversation)
        this.#begin(pendingOf(row))
      }
    }
    if (!this.#started || this.#stopped) return
    const next = await this.outbox.nextDue()
    if (next === null) {
      // Nothing pending in the file: what is written from now on is delivered from memory.
      this.#fromMemory = true
      return
    }
    // Due already: it waits for a delivery under way, whose end reads again. Else: until it is due.
    const until = next - this.clock.now()
    this.#wake(until <= 0 ? pollMs : Math.min(pollMs, until), () => { this.kick() })
  }

  #wake (ms: number, then: () => void): void {
    if (!this.#started || this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(then, Math.max(ms, 1))
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

  /**
   * Runs one delivery. Its conversation and its place among `concurrency` are free as soon as the
   * handlers are done; recording the result (a commit) goes on meanwhile. A result that cannot be
   * recorded leaves the row pending: it is delivered again later (at least once).
   */
  #begin (pending: Pending): void {
    const { id, conversation } = pending
    this.#running.set(id, conversation)
    const done = this.#attempt(pending)
      .then(async settlement => {
        this.#running.delete(id)
        const failedForNow = !settlement.delivered && settlement.nextAttemptAt !== null
        // A retry is scheduled in the file: later callbacks of its conversation must wait for it there.
        if (failedForNow) this.#fromFile()
        this.#release(conversation)
        if (this.#fromMemory) this.#pump()
        await this.outbox.settle(settlement)
      })
      .catch(error => { this.log.error({ err: error, callId: pending.callId }, 'outbox could not record a delivery; it will be attempted again') })
      .finally(() => {
        this.#unsettled.delete(id)
        this.kick()
      })
    this.#unsettled.set(id, done)
  }

  async #attempt (pending: Pending): Promise<Settlement> {
    const attempt = pending.attempts + 1
    try {
      await this.deliver(pending, attempt)
      return { id: pending.id, delivered: true, at: this.clock.now() }
    } catch (error) {
      return this.#failure(pending, attempt, error)
    }
  }

  #failure (pending: Pending, attempt: number, error: unknown): Settlement {
    const { maxAttempts, maxAgeMs, retryBaseMs, retryMaxMs } = this.options
    const now = this.clock.now()
    const reason = describe(error)
    const fields = { callId: pending.callId, kind: pending.kind, attempt, error: reason }
    if (attempt >= maxAttempts || now - pending.receivedAt >= maxAgeMs) {
      this.failures.dead++
      this.log.error(fields, 'outbox delivery failed for good: dead-lettered')
      return { id: pending.id, delivered: false, error: reason, nextAttemptAt: null }
    }
    this.failures.retried++
    const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1))
    const delay = Math.min(retryMaxMs, retryAfterOf(error) ?? backoff / 2 + this.clock.random() * backoff / 2)
    this.log.warn({ ...fields, retryInMs: Math.round(delay) }, 'outbox delivery failed; will retry')
    return { id: pending.id, delivered: false, error: reason, nextAttemptAt: now + Math.round(delay) }
  }
}
