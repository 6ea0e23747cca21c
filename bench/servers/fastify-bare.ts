// Server 2: bare Fastify, one POST route, no schema; Fastify's own JSON parser. Its logger is set
// up like the service's and server 3's (BENCH_LOG_LEVEL: pino JSON at info to stdout, Fastify's
// request lines off; "off" for no logger), so that the comparison is of the callback path only.
import Fastify, { LogController } from 'fastify'
import { announce, portFromArgs } from './ipc.js'

const level = process.env.BENCH_LOG_LEVEL ?? 'info'
const app = Fastify({
  logger: level === 'off' ? false : { level },
  logController: new LogController({ disableRequestLogging: true })
})
app.post('/', async () => ({ status: 'ok' }))

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('fastify-bare', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
