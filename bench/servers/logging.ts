// The logger set-up servers 2, 2b and 3 share, so that their ratios compare callback paths and not
// loggers: the service's own logger options (src/service/logger.ts: pino JSON through the batched
// destination to stdout) at BENCH_LOG_LEVEL (default info; "off": no logger at all), and
// Fastify's own request lines off.
import { type FastifyServerOptions, LogController } from 'fastify'
import type { ServiceConfig } from '../../src/service/config.js'
import { loggerOptions } from '../../src/service/logger.js'

/** `stream` replaces the service's destination (server 2b's variants that measure the line's parts). */
export function serviceLikeLogging (stream?: { write: (line: string) => unknown }): Pick<FastifyServerOptions, 'logger' | 'logController'> {
  const level = (process.env.BENCH_LOG_LEVEL ?? 'info') as ServiceConfig['logLevel'] | 'off'
  const logController = new LogController({ disableRequestLogging: true })
  if (level === 'off') return { logger: false, logController }
  // The service's options are its level and its destination; a replaced stream keeps the level only,
  // so that no unused destination is made.
  return { logger: stream === undefined ? loggerOptions({ logLevel: level }, false) : { level, stream }, logController }
}
