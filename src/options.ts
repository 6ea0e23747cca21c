import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { ERR_BAD_OPTION, ERR_NO_SECRET } from './errors.js'
import { Outbox } from './outbox/outbox.js'
import type { MetricsOptions } from './metrics.js'
import type { SharedDecisions } from './pre-send/shared-decisions.js'
import type { CallbackSink } from './sinks/types.js'
import type { CallbackEvent, CallbackKind, MessageEvent } from './schemas/kinds.js'
import type { PreSendDecision, PreSendMessage, PreSendReply } from './schemas/pre-send.js'
import { MemoryReplayStore } from './store/memory.js'
import type { ReplayStore } from './store/types.js'

/** What a handler gets besides the event. */
export interface CallbackContext {
  /** The logger of the request, or of the outbox delivery. */
  log: FastifyBaseLogger
  /** 1 on the first run; more when the outbox retries the callback. */
  attempt: number
  /** Easemob's request, when the handlers run inside it; absent when they run from the outbox after the 200. */
  request?: FastifyRequest
}

export type CallbackHandler<E> = (event: E, context: CallbackContext) => unknown

/**
 * Handlers by kind. A callback goes to its own kind, then to `message` when it is a chat message,
 * then to `*`. Kinds without a handler are answered 200 all the same.
 */
export type CallbackHandlers = {
  [K in CallbackKind]?: CallbackHandler<CallbackEvent<K>>
} & {
  message?: CallbackHandler<MessageEvent>
  '*'?: CallbackHandler<CallbackEvent>
}

export type StaleReason = 'stale' | 'future'

/** Decides a pre-send callback: pass (`valid: true`), block (`valid: false`) or rewrite (`payload`). */
export type PreSendHandler = (message: PreSendMessage, request: FastifyRequest) => PreSendDecision | Promise<PreSendDecision>

export interface EasemobCallbackOptions {
  /** The secret of each console rule that points here; a callback passes when it matches any. Required. */
  secrets?: string | readonly string[]
  handlers?: CallbackHandlers
  /**
   * Signed callbacks whose timestamp is outside the freshness window: answered 200 (so Easemob
   * neither retries nor counts a failure) and given only to this function. Default: logged only.
   */
  onStale?: (event: CallbackEvent, request: FastifyRequest, reason: StaleReason) => unknown
  /** How old a callback may be, in ms. Default 300000 (5 minutes). */
  maxAgeMs?: number
  /** How far ahead of this server's clock a timestamp may be, in ms. Default 60000. */
  maxFutureMs?: number
  /** Where seen callIds are kept. Default: a `MemoryReplayStore` of `replayMaxEntries` and `replayMaxBytes`. */
  replayStore?: ReplayStore
  /** Entry bound of the default in-memory replay store. Default 100000. */
  replayMaxEntries?: number
  /** Byte bound of the default in-memory replay store. Default 33554432 (32 MiB). */
  replayMaxBytes?: number
  /**
   * Most `chat_offline` callbacks (one per offline member) taken under one callId. Default 3000,
   * the largest group Easemob's console sets up with offline push; raise it for larger groups.
   */
  offlineFanOutLimit?: number
  /**
   * Time the handlers of one callback have, in ms. Past it the answer is 503 and the callId is
   * released, so that Easemob's retry is taken. Default 8000 (Easemob waits 10 s).
   */
  handlerTimeoutMs?: number
  /** Largest accepted request body in bytes. Default 262144 (256 KiB). */
  bodyLimit?: number
  /** Clock in ms since the epoch, for tests. Default `Date.now`. */
  now?: () => number
  /**
   * DEVELOPMENT ONLY: accept callbacks without checking `security`. Logged as an error at start.
   * Default false; without secrets and without this switch the plugin refuses to register.
   */
  insecureSkipSignature?: boolean
  /**
   * Enables `POST {prefix}/pre-send`: Easemob asks before delivering a message. Sync or async;
   * its decision is sent as Easemob's exact reply.
   */
  preSend?: PreSendHandler
  /** Time the `preSend` function has before the fallback is sent, in ms. Default 100 (Easemob waits 200). */
  preSendBudgetMs?: number
  /** Sent when `preSend` is late, throws or decides something unsendable. Default 'pass', as the console's. */
  preSendFallback?: 'pass' | 'block' | PreSendReply
  /** How many pre-send decisions are remembered for replays. Default 10000. */
  preSendCacheEntries?: number
  /** Pre-send decisions shared by replicas (e.g. `RedisSharedDecisions`), so that a replay gets the same one anywhere. */
  preSendShared?: SharedDecisions
  /**
   * Writes each callback to this outbox before answering 200, and runs the handlers from it after
   * the answer, with retries (`Outbox.open({ path })`). The plugin starts its deliveries when the
   * app is ready and closes it with the app.
   */
  outbox?: Outbox
  /**
   * `deliver` (default): with an outbox, handlers run from it after the answer, with retries.
   * `record`: handlers run inside the request as without one, and the outbox only records what
   * was taken (the duplicate memory across restarts, and rows an operator can replay).
   */
  outboxMode?: 'deliver' | 'record'
  /**
   * More destinations each fresh callback is written to before its 200 (a Redis stream, a
   * JetStream stream). A callback is a duplicate when every one of them (and the outbox) already
   * holds it; one that fails or is late makes the answer 503. Closed with the app.
   */
  sinks?: readonly CallbackSink[]
  /**
   * Prometheus metrics (prom-client): callbacks by kind and outcome, answer and handler times,
   * the outbox's backlog. Off by default, so that a host app's own metrics set-up is not touched;
   * `true` registers into prom-client's global registry, `{ registry }` into the host's own.
   */
  metrics?: boolean | MetricsOptions
}

export interface NormalisedOptions {
  secrets: readonly string[]
  handlers: CallbackHandlers
  onStale: EasemobCallbackOptions['onStale']
  maxAgeMs: number
  maxFutureMs: number
  replayStore: ReplayStore
  offlineFanOutLimit: number
  handlerTimeoutMs: number
  bodyLimit: number
  now: () => number
  insecureSkipSignature: boolean
  preSend: PreSendHandler | undefined
  preSendBudgetMs: number
  preSendFallback: PreSendReply
  preSendCacheEntries: number
  preSendShared: SharedDecisions | undefined
  outbox: Outbox | undefined
  outboxMode: 'deliver' | 'record'
  sinks: readonly CallbackSink[]
  metrics: MetricsOptions | undefined
}

const HANDLER_KEYS = new Set<string>(['message', '*'])

function positiveInteger (name: string, value: unknown, fallback: number, minimum = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    const wanted = minimum === 1 ? 'a positive integer' : `an integer of at least ${minimum}`
    throw new ERR_BAD_OPTION(name, `must be ${wanted}, got ${JSON.stringify(value)}`)
  }
  return value
}

function normaliseFallback (fallback: EasemobCallbackOptions['preSendFallback']): PreSendReply {
  if (fallback === undefined || fallback === 'pass') return { valid: true }
  if (fallback === 'block') return { valid: false }
  if (typeof fallback !== 'object' || fallback === null || typeof fallback.valid !== 'boolean') {
    throw new ERR_BAD_OPTION('preSendFallback', "must be 'pass', 'block' or a reply object with a boolean `valid`")
  }
  return fallback
}

function normaliseSecrets (secrets: EasemobCallbackOptions['secrets']): string[] {
  if (secrets === undefined) return []
  const list = typeof secrets === 'string' ? [secrets] : secrets
  if (!Array.isArray(list)) throw new ERR_BAD_OPTION('secrets', 'must be a string or an array of strings')
  for (const secret of list) {
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new ERR_BAD_OPTION('secrets', 'every secret must be a non-empty string')
    }
  }
  return [...new Set(list)]
}

function checkHandlers (handlers: unknown, kinds: readonly string[]): CallbackHandlers {
  if (handlers === undefined) return {}
  if (typeof handlers !== 'object' || handlers === null) throw new ERR_BAD_OPTION('handlers', 'must be an object of functions by kind')
  for (const [key, handler] of Object.entries(handlers)) {
    if (handler === undefined) continue
    if (!kinds.includes(key) && !HANDLER_KEYS.has(key)) {
      throw new ERR_BAD_OPTION('handlers', `unknown kind "${key}"; known kinds: ${[...kinds, ...HANDLER_KEYS].join(', ')}`)
    }
    if (typeof handler !== 'function') throw new ERR_BAD_OPTION(`handlers.${key}`, 'must be a function')
  }
  return handlers as CallbackHandlers
}

/** Checks every option once, at registration, so that a mistake fails the start and not a callback. */
export function normaliseOptions (options: EasemobCallbackOptions, kinds: readonly string[]): NormalisedOptions {
  const secrets = normaliseSecrets(options.secrets)
  const insecureSkipSignature = options.insecureSkipSignature === true
  if (secrets.length === 0 && !insecureSkipSignature) throw new ERR_NO_SECRET()
  if (options.onStale !== undefined && typeof options.onStale !== 'function') throw new ERR_BAD_OPTION('onStale', 'must be a function')
  if (options.now !== undefined && typeof options.now !== 'function') throw new ERR_BAD_OPTION('now', 'must be a function returning ms')
  if (options.preSend !== undefined && typeof options.preSend !== 'function') throw new ERR_BAD_OPTION('preSend', 'must be a function')
  const store = options.replayStore
  if (store !== undefined && (typeof store.claim !== 'function' || typeof store.release !== 'function')) {
    throw new ERR_BAD_OPTION('replayStore', 'must have claim() and release()')
  }
  if (options.outbox !== undefined && !(options.outbox instanceof Outbox)) throw new ERR_BAD_OPTION('outbox', 'must be an Outbox (await Outbox.open({ path }))')
  if (options.sinks !== undefined && (!Array.isArray(options.sinks) || options.sinks.some(sink => typeof sink?.write !== 'function' || typeof sink.close !== 'function'))) {
    throw new ERR_BAD_OPTION('sinks', 'must be an array of sinks, each with write(), probe() and close()')
  }
  if (options.outboxMode !== undefined && options.outboxMode !== 'deliver' && options.outboxMode !== 'record') {
    throw new ERR_BAD_OPTION('outboxMode', "must be 'deliver' or 'record'")
  }
  return {
    secrets,
    handlers: checkHandlers(options.handlers, kinds),
    onStale: options.onStale,
    maxAgeMs: positiveInteger('maxAgeMs', options.maxAgeMs, 300_000),
    maxFutureMs: positiveInteger('maxFutureMs', options.maxFutureMs, 60_000),
    replayStore: store ?? new MemoryReplayStore(
      positiveInteger('replayMaxEntries', options.replayMaxEntries, 100_000),
      positiveInteger('replayMaxBytes', options.replayMaxBytes, 32 * 1024 * 1024, 65_536)
    ),
    offlineFanOutLimit: positiveInteger('offlineFanOutLimit', options.offlineFanOutLimit, 3000),
    handlerTimeoutMs: positiveInteger('handlerTimeoutMs', options.handlerTimeoutMs, 8000),
    bodyLimit: positiveInteger('bodyLimit', options.bodyLimit, 262_144),
    now: options.now ?? Date.now,
    insecureSkipSignature,
    preSend: options.preSend,
    preSendBudgetMs: positiveInteger('preSendBudgetMs', options.preSendBudgetMs, 100),
    preSendFallback: normaliseFallback(options.preSendFallback),
    preSendCacheEntries: positiveInteger('preSendCacheEntries', options.preSendCacheEntries, 10_000),
    preSendShared: options.preSendShared,
    outbox: options.outbox,
    outboxMode: options.outboxMode ?? 'deliver',
    sinks: options.sinks ?? [],
    metrics: options.metrics === true ? {} : options.metrics === false || options.metrics === undefined ? undefined : options.metrics
  }
}
