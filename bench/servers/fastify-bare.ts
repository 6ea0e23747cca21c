// Server 2: bare Fastify, one POST route, no schema; Fastify's own JSON parser. Its logger is set
// up like the service's and server 3's (logging.ts): at info it builds a child logger per request
// and writes no line, so that the comparison is of the callback path only.
import Fastify from 'fastify'
import { announce, portFromArgs } from './ipc.js'
import { serviceLikeLogging } from './logging.js'

const app = Fastify(serviceLikeLogging())
app.post('/', async () => ({ status: 'ok' }))

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('fastify-bare', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
