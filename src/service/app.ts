import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import type { CallbackHandlers } from '../options.js'
import easemobCallback from '../plugin.js'
import { loadRulesPolicy } from '../presend/rules/index.js'
import type { ServiceConfig } from './config.js'
import { loggerOptions } from './logger.js'

/** The service's default handler: the plugin already logs one line per callback; content only at debug. */
export const defaultHandlers: CallbackHandlers = {
  '*': (event, request) => {
    request.log.debug({ event }, 'easemob callback content')
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
 * Builds the standalone service: the plugin at `/` (and `/pre-send` with PRESEND_RULES), `GET
 * /healthz`, and nothing else. A broken rules file throws here, so the service does not start.
 */
export async function buildService (config: ServiceConfig, options: ServiceOptions = {}): Promise<FastifyInstance> {
  const rules = config.presendRules === '' ? undefined : await loadRulesPolicy(config.presendRules)
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    // The plugin logs one line per callback with its outcome; Fastify's two per request would be noise.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true
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
    bodyLimit: config.bodyLimit,
    handlers: options.handlers ?? defaultHandlers,
    now: options.now,
    preSend: rules?.decide,
    preSendBudgetMs: config.presendBudgetMs,
    preSendFallback: config.presendFallback
  })
  return app
}
