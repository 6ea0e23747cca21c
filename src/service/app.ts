import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import type { CallbackHandlers } from '../options.js'
import easemobCallback from '../plugin.js'
import type { ServiceConfig } from './config.js'

/** pino JSON in production; pino-pretty when a person is watching the terminal. */
export function loggerOptions (config: Pick<ServiceConfig, 'logLevel'>, pretty = process.stdout.isTTY === true): FastifyServerOptions['logger'] {
  return pretty
    ? { level: config.logLevel, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
    : { level: config.logLevel }
}

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
}

/** Builds the standalone service: the plugin at `/`, `GET /healthz`, and nothing else. */
export async function buildService (config: ServiceConfig, options: ServiceOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    // The plugin logs one line per callback with its outcome; Fastify's two per request would be noise.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true
  })
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
  await app.register(easemobCallback, {
    secrets: config.secrets,
    insecureSkipSignature: config.insecureSkipSignature,
    maxAgeMs: config.maxAgeSeconds * 1000,
    maxFutureMs: config.maxFutureSeconds * 1000,
    replayMaxEntries: config.replayMaxEntries,
    bodyLimit: config.bodyLimit,
    handlers: options.handlers ?? defaultHandlers,
    now: options.now
  })
  return app
}
