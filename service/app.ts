import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import easemobCallback, { type CallbackHandlers } from '../index.js'
import { loadRulesPolicy } from '../src/pre-send/rules/index.js'
import type { ServiceConfig } from './config.js'
import { loggerOptions } from './logger.js'

/** The service's default handler: the plugin already logs one line per callback; content only at debug. */
export const defaultHandlers: CallbackHandlers = {
  '*': (event, { log }) => {
    log.debug({ event }, 'easemob callback content')
  }
}

export interface ServiceOptions {
  handlers?: CallbackHandlers
  logger?: FastifyServerOptions['logger']
  now?: () => number
  /** Reload the pre-send rules file on SIGHUP and when it changes. Default true. */
  watchRules?: boolean
}

/**
 * Builds the standalone service: the plugin at `/` (and `/pre-send` with PRE_SEND_RULES), `GET
 * /healthz`, and nothing else. A broken rules file throws here, so the service does not start.
 */
export async function buildService (config: ServiceConfig, options: ServiceOptions = {}): Promise<FastifyInstance> {
  const rules = config.preSendRules === '' ? undefined : await loadRulesPolicy(config.preSendRules)
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
    handlers: options.handlers ?? defaultHandlers,
    now: options.now,
    preSend: rules?.decide,
    preSendBudgetMs: config.preSendBudgetMs,
    preSendFallback: config.preSendFallback
  })
  return app
}
