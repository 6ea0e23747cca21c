// Server 2: bare Fastify, one POST route, no schema. pino at info like the service, with Fastify's
// own request lines off, so it writes no line: the logger's per-request cost without the write.
import Fastify, { LogController } from 'fastify'
import pino from 'pino'

const app = Fastify({
  logger: { level: 'info', stream: pino.destination({ dest: 1, sync: false }) },
  logController: new LogController({ disableRequestLogging: true })
})
app.post('/', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
