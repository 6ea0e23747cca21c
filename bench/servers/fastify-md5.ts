// Server 3: the least a correct receiver does, on Fastify set up like server 2: the md5 signature
// check from Easemob's docs (401 on mismatch) and one pino log line per callback. No freshness
// window, no duplicate memory, no schema: what this project adds is the difference to server 4.
import { hash } from 'node:crypto'
import Fastify, { LogController } from 'fastify'
import pino from 'pino'

const SECRET = 'test-secret'

const app = Fastify({
  // The service's destination (pino's asynchronous one, to stdout), so that 4 ÷ 3 compares paths, not loggers.
  logger: { level: 'info', stream: pino.destination({ dest: 1, sync: false }) },
  logController: new LogController({ disableRequestLogging: true })
})
app.post<{ Body: { callId?: unknown, timestamp?: unknown, security?: unknown } }>('/', async (request, reply) => {
  const { callId, timestamp, security } = request.body
  if (typeof callId !== 'string' || security !== hash('md5', callId + SECRET + String(timestamp), 'hex')) {
    return reply.code(401).send({ error: 'bad signature' })
  }
  request.log.info({ callId }, 'easemob callback')
  return { status: 'ok' }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
