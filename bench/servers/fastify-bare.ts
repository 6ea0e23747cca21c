// Server 2: bare Fastify, one POST route, no schema; Fastify's own JSON parser. Its logger is set
// up like the service's and server 3's (BENCH_LOG_LEVEL: pino JSON at info to stdout, Fastify's
// request lines off; "off" for no logger), so that the comparison is of the callback path only.
//
// Server 2b (fastify-plugin.ts) runs this file with BENCH_ROUTE_IN_PLUGIN=1: the same route inside
// a registered plugin, as routes are in most Fastify apps and as this project's route must be.
import Fastify, { LogController } from 'fastify'
import { announce, portFromArgs } from './ipc.js'

const inPlugin = process.env.BENCH_ROUTE_IN_PLUGIN === '1'
const level = process.env.BENCH_LOG_LEVEL ?? 'info'
const app = Fastify({
  logger: level === 'off' ? false : { level },
  logController: new LogController({ disableRequestLogging: true })
})
const answer = async (): Promise<{ status: string }> => ({ status: 'ok' })
if (inPlugin) {
  await app.register(async routes => { routes.post('/', answer) })
} else {
  app.post('/', answer)
}

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce(inPlugin ? 'fastify-plugin' : 'fastify-bare', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
