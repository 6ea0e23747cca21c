// Server 2b: the least a Fastify receiver of these callbacks does, written by hand: the md5 check
// Easemob's docs describe (one-shot crypto.hash, the cheapest way Node offers) and one log line per
// callback with its callId, on bare Fastify with the service's logger set-up (logging.ts, as servers
// 2 and 3). Its route sits in a registered plugin, as routes are in most Fastify apps.
//
// No freshness window, no duplicate memory, no schema, no per-kind routing. 2b ÷ 2 is what the
// work any signed, logged receiver must do costs bare Fastify; 3 ÷ 2b is what this project costs
// on top of that.
import { hash } from 'node:crypto'
import Fastify from 'fastify'
import { announce, portFromArgs } from './ipc.js'
import { serviceLikeLogging } from './logging.js'

const SECRET = 'test-secret'

type Callback = Record<string, any>

const app = Fastify(serviceLikeLogging())

await app.register(async routes => {
  routes.post('/', async (request, reply) => {
    const body = request.body as Callback | undefined
    if (typeof body?.callId !== 'string' || typeof body.security !== 'string') {
      reply.code(400)
      return { error: 'not a callback' }
    }
    if (hash('md5', body.callId + SECRET + String(body.timestamp), 'hex') !== body.security) {
      reply.code(401)
      return { error: 'bad signature' }
    }
    request.log.info({
      callId: body.callId,
      kind: body.chat_type ?? body.eventType ?? body.event,
      outcome: 'dispatched',
      statusCode: 200,
      ms: Math.round(reply.elapsedTime * 100) / 100
    }, 'easemob callback')
    return { status: 'ok' }
  })
})

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('fastify-handwritten', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
