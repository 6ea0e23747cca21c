import type { FastifyReply, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client'
import type { Outbox } from './outbox/outbox.js'
import type { CallbackTrace } from './trace.js'

export interface MetricsOptions {
  /** Where the metrics are registered: the host app's own registry, say. Default prom-client's global one. */
  registry?: Registry
  /** Prefix of every metric's name. Default `easemob_`. */
  prefix?: string
}

/** What a callback's outcome counts as: the labels an alert is written against. */
function outcomeOf (trace: CallbackTrace, statusCode: number): string {
  switch (trace.outcome) {
    case 'dispatched':
    case 'stored': return 'taken'
    case 'future': return 'stale'
    case 'rejected': return trace.reason?.startsWith('FST_ERR_EASEMOB_SIGNATURE') === true ? 'bad_signature' : 'invalid'
    case 'failed': return trace.reason === 'FST_ERR_EASEMOB_HANDLER_FAILED' || trace.reason === 'FST_ERR_EASEMOB_HANDLER_TIMEOUT' ? 'handler_failed' : 'failed'
    case 'received': return statusCode >= 500 ? 'failed' : statusCode >= 400 ? 'invalid' : 'taken'
    default: return trace.outcome
  }
}

/**
 * The plugin's Prometheus metrics: callbacks by route, kind and outcome, the time to answer, and
 * the time handlers take. Registered once per registry; a second plugin instance on the same
 * registry shares them.
 */
export class CallbackMetrics {
  readonly #callbacks: Counter<'route' | 'kind' | 'outcome'>
  readonly #answers: Histogram<'route'>
  readonly #handlers: Histogram<'kind'>

  readonly #registry: Registry
  readonly #prefix: string

  constructor ({ registry = register, prefix = 'easemob_' }: MetricsOptions = {}) {
    this.#registry = registry
    this.#prefix = prefix
    const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined
    const registers = [registry]
    this.#callbacks = existing(`${prefix}callbacks_total`) ?? new Counter({
      name: `${prefix}callbacks_total`,
      help: 'Easemob callbacks answered, by route (post-send, pre-send), kind and outcome (taken, duplicate, stale, bad_signature, invalid, handler_failed, failed; pre-send: pass, block, rewrite, fallback, duplicate)',
      labelNames: ['route', 'kind', 'outcome'] as const,
      registers
    })
    this.#answers = existing(`${prefix}callback_duration_seconds`) ?? new Histogram({
      name: `${prefix}callback_duration_seconds`,
      help: 'Time from the request to the answer, by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
      registers
    })
    this.#handlers = existing(`${prefix}handler_duration_seconds`) ?? new Histogram({
      name: `${prefix}handler_duration_seconds`,
      help: 'Time the handlers of one callback took, by kind, in the request or from the outbox',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers
    })
  }

  /** One answered request, from its trace (the onResponse hook). */
  observe (request: FastifyRequest, reply: FastifyReply, trace: CallbackTrace | null): void {
    const route = request.routeOptions.url?.endsWith('/pre-send') === true ? 'pre-send' : 'post-send'
    const kind = trace?.kind?.replace(/^pre-send:?/, '') || 'none'
    const outcome = trace === null ? (reply.statusCode >= 500 ? 'failed' : 'invalid') : outcomeOf(trace, reply.statusCode)
    this.#callbacks.inc({ route, kind, outcome })
    this.#answers.observe({ route }, reply.elapsedTime / 1000)
  }

  handled (kind: string, seconds: number): void {
    this.#handlers.observe({ kind }, seconds)
  }

  /** The outbox's backlog by state and its failed deliveries, read when the metrics are scraped. */
  watch (outbox: Outbox): void {
    const prefix = this.#prefix
    if (this.#registry.getSingleMetric(`${prefix}outbox_callbacks`) !== undefined) return
    new Gauge({
      name: `${prefix}outbox_callbacks`,
      help: 'Callbacks in the outbox, by state (pending: the backlog; dead: waiting for an operator)',
      labelNames: ['state'] as const,
      registers: [this.#registry],
      async collect () {
        for (const [state, count] of Object.entries(await outbox.counts())) this.set({ state }, count)
      }
    })
    let seen = { retried: 0, dead: 0 }
    new Counter({
      name: `${prefix}outbox_delivery_failures_total`,
      help: 'Failed delivery attempts from the outbox; final: dead-lettered',
      labelNames: ['final'] as const,
      registers: [this.#registry],
      collect () {
        const now = outbox.failures
        this.inc({ final: 'false' }, now.retried - seen.retried)
        this.inc({ final: 'true' }, now.dead - seen.dead)
        seen = { ...now }
      }
    })
  }
}
