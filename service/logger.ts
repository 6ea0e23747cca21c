import type { FastifyServerOptions } from 'fastify'
import pino from 'pino'
import type { ServiceConfig } from './config.js'

/** Where the service's JSON lines go: stdout, written asynchronously by pino's own destination. */
export type LogDestination = ReturnType<typeof pino.destination>

/**
 * pino JSON in production, to stdout through sonic-boom (asynchronous: lines logged while a write
 * is in flight leave together in the next one, and none waits for a buffer to fill); pino-pretty
 * when a person is watching the terminal.
 */
export function loggerOptions (
  config: Pick<ServiceConfig, 'logLevel'>,
  destination: LogDestination | undefined,
  pretty = process.stdout.isTTY === true
): FastifyServerOptions['logger'] {
  return pretty || destination === undefined
    ? { level: config.logLevel, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
    : { level: config.logLevel, stream: destination }
}

export function stdoutDestination (): LogDestination {
  return pino.destination({ dest: 1, sync: false })
}
