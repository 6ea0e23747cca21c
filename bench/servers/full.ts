// Server 3: this project's full post-send path. The plugin at `/` with the test secret and a no-op
// handler for every kind, on a Fastify set up like the service's: its logger options
// (src/service/app.ts: pino JSON through the batched destination) at BENCH_LOG_LEVEL (default
// info; "off": no logger), Fastify's own request logging off, so the plugin's one line per
// callback is the only log.
//
// Logs go to stdout, which bench/run.ts points at /dev/null (the write syscalls are paid, the disk
// is not), or at a file when the profile run counts the lines. BENCH_REPLAY_MAX_ENTRIES sets the
// plugin's replayMaxEntries (long mode).
import Fastify, { LogController } from 'fastify'
import easemobCallback, { CALLBACK_KINDS, type CallbackHandlers } from '../../src/index.js'
import { loggerOptions } from '../../src/service/app.js'
import type { ServiceConfig } from '../../src/service/config.js'
import { announce, portFromArgs } from './ipc.js'

export const SECRET = 'test-secret'

const noop = (): void => {}
const handlers = Object.fromEntries(CALLBACK_KINDS.map(kind => [kind, noop])) as CallbackHandlers

const replayMaxEntries = process.env.BENCH_REPLAY_MAX_ENTRIES === undefined ? undefined : Number(process.env.BENCH_REPLAY_MAX_ENTRIES)

const level = process.env.BENCH_LOG_LEVEL ?? 'info'
const app = Fastify({
  logger: level === 'off' ? false : loggerOptions({ logLevel: level as ServiceConfig['logLevel'] }, false),
  logController: new LogController({ disableRequestLogging: true }),
  return503OnClosing: true
})
await app.register(easemobCallback, { secrets: [SECRET], handlers, replayMaxEntries })

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('full', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
