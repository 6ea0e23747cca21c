// Server 2b: bare Fastify again, but its one route sits inside a registered plugin, as routes do in
// most Fastify apps (fastify-cli's template autoloads routes/ as plugins) and as this project's
// route must (it is an encapsulated plugin). Same logger set-up as 2 and 3.
//
// Why it is here: on Node 20 an app that registers any encapsulated plugin pays for it on every
// request, in Node's own process.nextTick (see the README's benchmark section). Server 2 registers
// none, so 3 ÷ 2 counts that toll against the callback path; 3 ÷ 2b does not.
import Fastify, { LogController } from 'fastify'
import { announce, portFromArgs } from './ipc.js'

const level = process.env.BENCH_LOG_LEVEL ?? 'info'
const app = Fastify({
  logger: level === 'off' ? false : { level },
  logController: new LogController({ disableRequestLogging: true })
})
await app.register(async routes => {
  routes.post('/', async () => ({ status: 'ok' }))
})

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('fastify-plugin', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
