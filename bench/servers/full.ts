// Server 3: this project's full post-send path. The plugin at `/` with the test secret and a no-op
// handler for every kind, on a Fastify set up like the service's (logging.ts: the service's logger
// options at BENCH_LOG_LEVEL, Fastify's own request lines off), so the plugin's one line per
// callback is the only log.
//
// Logs go to stdout, which bench/run.ts points at /dev/null (the write syscalls are paid, the disk
// is not), or at a file when the profile run counts the lines. BENCH_REPLAY_MAX_ENTRIES sets the
// plugin's replayMaxEntries (long mode).
import Fastify from 'fastify'
import easemobCallback, { CALLBACK_KINDS, type CallbackHandlers } from '../../src/index.js'
import { announce, portFromArgs } from './ipc.js'
import { serviceLikeLogging } from './logging.js'

const SECRET = 'test-secret'

const noop = (): void => {}
const handlers = Object.fromEntries(CALLBACK_KINDS.map(kind => [kind, noop])) as CallbackHandlers

const replayMaxEntries = process.env.BENCH_REPLAY_MAX_ENTRIES === undefined ? undefined : Number(process.env.BENCH_REPLAY_MAX_ENTRIES)

const app = Fastify({ ...serviceLikeLogging(), return503OnClosing: true })
await app.register(easemobCallback, { secrets: [SECRET], handlers, replayMaxEntries })

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('full', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
