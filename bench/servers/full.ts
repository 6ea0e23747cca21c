// Server 3: this project's full post-send path. The plugin at `/` with the test secret and a no-op
// handler for every kind, on a Fastify set up like the service's (src/service/app.ts): pino JSON at
// BENCH_LOG_LEVEL (default info; "off": no logger) through the service's batched destination,
// Fastify's own request logging off, so the plugin's one line per callback is the only log.
//
// Logs go to stdout, which bench/run.ts points at /dev/null (the write syscalls are paid, the disk
// is not); with BENCH_LOG_FILE they go to that file instead (the profile run does this and counts
// the lines). BENCH_REPLAY_MAX_ENTRIES sets the plugin's replayMaxEntries (long mode).
import { openSync } from 'node:fs'
import Fastify, { LogController } from 'fastify'
import easemobCallback, { batchedLogDestination, CALLBACK_KINDS, type CallbackHandlers } from '../../src/index.js'
import { announce, portFromArgs } from './ipc.js'

export const SECRET = 'test-secret'

const noop = (): void => {}
const handlers = Object.fromEntries(CALLBACK_KINDS.map(kind => [kind, noop])) as CallbackHandlers

const logFile = process.env.BENCH_LOG_FILE
const replayMaxEntries = process.env.BENCH_REPLAY_MAX_ENTRIES === undefined ? undefined : Number(process.env.BENCH_REPLAY_MAX_ENTRIES)

const level = process.env.BENCH_LOG_LEVEL ?? 'info'
const app = Fastify({
  logger: level === 'off' ? false : { level, stream: batchedLogDestination({ fd: logFile === undefined ? 1 : openSync(logFile, 'a') }) },
  logController: new LogController({ disableRequestLogging: true }),
  return503OnClosing: true
})
await app.register(easemobCallback, { secrets: [SECRET], handlers, replayMaxEntries })

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('full', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
