import type { FastifyServerOptions } from 'fastify'
import { batchedLogDestination } from '../log-destination.js'
import type { ServiceConfig } from './config.js'

/**
 * pino JSON in production, to stdout through the batched destination (one write per event-loop
 * turn instead of one per line); pino-pretty when a person is watching the terminal.
 */
export function loggerOptions (config: Pick<ServiceConfig, 'logLevel'>, pretty = process.stdout.isTTY === true): FastifyServerOptions['logger'] {
  return pretty
    ? { level: config.logLevel, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
    : { level: config.logLevel, stream: batchedLogDestination() }
}
