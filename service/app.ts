import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { join } from 'node:path'
import easemobCallback, { type CallbackEvent, type CallbackHandler, type CallbackHandlers, Outbox } from '../index.js'
import { loadRulesPolicy } from '../src/pre-send/rules/index.js'
import admin from './admin.js'
import type { ServiceConfig } from './config.js'
import { connectDependencies } from './dependencies.js'
import { forwarder } from './forwarder.js'
import { loggerOptions } from './logger.js'
import openapi from './openapi.js'

const HOUR = 3_600_000

/** The `log` sink: the plugin already logs one line per callback; the content only at debug. */
const logSink: CallbackHandler<CallbackEvent> = (event, { log }) => {
  log.debug({ event }, 'easemob callback content')
}

/** What the configured sinks do with each callback, in order, as the one `*` handler. */
export function sinkHandlers (config: ServiceConfig): CallbackHandlers {
  const steps: Array<CallbackHandler<CallbackEvent>> = []
  if (config.sinks.includes('log')) steps.push(logSink)
  if (config.sinks.includes('http')) steps.push(forwarder({ url: config.forwardUrl, secret: config.forwardSecret, timeoutMs: config.forwardTimeoutMs }))
  if (steps.length === 0) return {}
  // One step is handed over as it is: the log alone stays synchronous, as the callback path can.
  if (steps.length === 1) return { '*': steps[0] }
  return { '*': async (event, context) => { for (const step of steps) await step(event, context) } }
}

/**
 * The outbox file under DATA_DIR, with the configured durability, retries and retention. The
 * FORWARD_* bounds are the backend's protection: without `http` nothing is forwarded to bound.
 */
export function openOutbox (config: ServiceConfig, now?: () => number): Promise<Outbox> {
  const forwarding = config.sinks.includes('http')
  return Outbox.open({
    path: join(config.dataDir, 'outbox.db'),
    synchronous: config.outboxSync,
    writeTimeoutMs: config.outboxWriteTimeoutMs,
    concurrency: forwarding ? config.forwardConcurrency : 64,
    ratePerSecond: forwarding ? config.forwardRatePerSecond : 0,
    maxAttempts: config.forwardMaxAttempts,
    maxAgeMs: config.forwardMaxAgeHours * HOUR,
    retryBaseMs: config.forwardRetryBaseMs,
    retryMaxMs: config.forwardRetryMaxMs,
    attemptTimeoutMs: config.forwardTimeoutMs + 1000,
    retentionMs: config.outboxRetentionHours * HOUR,
    retainRows: config.outboxRetainRows,
    now
  })
}

export interface ServiceOptions {
  /** In place of the configured sinks, for tests and embedding. */
  handlers?: CallbackHandlers
  logger?: FastifyServerOptions['logger']
  now?: () => number
  /** Reload the pre-send rules file on SIGHUP and when it changes. Default true. */
  watchRules?: boolean
}

/**
 * Builds the standalone service: the plugin at `/` (and `/pre-send` with PRE_SEND_RULES), the
 * outbox, Redis and NATS as SINKS and REDIS_URL ask, `GET /healthz` (alive), `GET /readyz` (can
 * take callbacks), `GET /metrics` (unless METRICS=false), `GET /openapi.json` (unless OPENAPI=false), and with ADMIN_TOKEN the outbox's admin
 * routes. A broken rules file, or an
 * outbox or JetStream that cannot be opened, throws here, so the service does not start.
 */
export async function buildService (config: ServiceConfig, options: ServiceOptions = {}): Promise<FastifyInstance> {
  const rules = config.preSendRules === '' ? undefined : await loadRulesPolicy(config.preSendRules)
  const outbox = config.sinks.includes('sqlite') ? await openOutbox(config, options.now) : undefined
  const dependencies = await connectDependencies(config)
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config, undefined),
    // The plugin logs one line per callback with its outcome; Fastify's two per request would be noise.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A webhook sender posts small bodies and waits at most 10 s (Easemob): a request still
    // arriving after that is abandoned, and an idle keep-alive connection need not live long.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: { requestTimeout: config.requestTimeoutMs, headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 }
  })
  if (rules !== undefined) {
    app.log.info({ file: rules.file, rules: rules.ruleCount }, 'pre-send rules loaded')
    if (options.watchRules !== false) {
      // A broken edit keeps the last good rules; say so loudly, since the file on disk is not what runs.
      const stop = rules.watch({
        onReload: result => result.ok
          ? app.log.info({ trigger: result.trigger, rules: result.rules, version: rules.version }, 'pre-send rules reloaded')
          : app.log.error({ trigger: result.trigger, problem: result.error }, 'pre-send rules NOT reloaded; keeping the last good rules')
      })
      app.addHook('onClose', async () => { stop() })
    }
  }
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
  app.addHook('onClose', dependencies.close)
  // Prometheus: the plugin's metrics and the process's own, at GET /metrics.
  const registry = config.metrics ? new Registry() : undefined
  if (registry !== undefined) {
    collectDefaultMetrics({ register: registry })
    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => await reply.type(registry.contentType).send(await registry.metrics()))
  }
  // Ready when every dependency can take a callback now; the answer names those that cannot.
  const probes = [...(outbox === undefined ? [] : [{ name: 'outbox', probe: () => outbox.probe() }]), ...dependencies.probes]
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const down: Record<string, string> = {}
    await Promise.all(probes.map(async ({ name, probe }) => {
      try {
        await probe()
      } catch (error) {
        down[name] = (error as Error).message
      }
    }))
    return Object.keys(down).length === 0 ? { status: 'ready' } : await reply.code(503).send({ status: 'not ready', ...down })
  })
  if (outbox !== undefined && config.adminToken !== '') await app.register(admin, { prefix: '/admin', outbox, token: config.adminToken })
  // Before the plugin, so that it sees the plugin's routes: GET /openapi.json.
  if (config.openapi) await app.register(openapi)
  await app.register(easemobCallback, {
    secrets: config.secrets,
    insecureSkipSignature: config.insecureSkipSignature,
    maxAgeMs: config.maxAgeSeconds * 1000,
    maxFutureMs: config.maxFutureSeconds * 1000,
    replayMaxEntries: config.replayMaxEntries,
    replayMaxBytes: config.replayMaxBytes,
    offlineFanOutLimit: config.offlineFanOutLimit,
    handlerTimeoutMs: config.handlerTimeoutMs,
    bodyLimit: config.bodyLimit,
    handlers: options.handlers ?? sinkHandlers(config),
    now: options.now,
    preSend: rules?.decide,
    preSendBudgetMs: config.preSendBudgetMs,
    preSendFallback: config.preSendFallback,
    outbox,
    replayStore: dependencies.replayStore,
    preSendShared: dependencies.preSendShared,
    sinks: dependencies.sinks,
    metrics: registry === undefined ? undefined : { registry },
    // Only forwarding needs deliveries after the answer; the log is written in the request.
    outboxMode: config.sinks.includes('http') ? 'deliver' : 'record'
  })
  return app
}
