// Server 2b: the least a Fastify receiver of these callbacks does, written by hand: the md5 check
// Easemob's docs describe (one-shot crypto.hash, the cheapest way Node offers) and one log line per
// callback with its callId, on bare Fastify with the service's logger set-up (logging.ts, as servers
// 2 and 3). Its route sits in a registered plugin, as routes are in most Fastify apps.
//
// No freshness window, no duplicate memory, no schema, no per-kind routing. 2b ÷ 2 is what the
// work any signed, logged receiver must do costs bare Fastify; 3 ÷ 2b is what this project costs
// on top of that.
//
// BENCH_2B_LINE takes the log line apart (npm run bench -- --2b-line ...):
//   pino       request.log.info(...) through the service's destination (default)
//   no-write   the same pino call, into a stream that drops the line: pino's share without the write
//   template   the same JSON line built by one template string and written to the service's
//              destination, no pino call: the write's share without pino
//   none       no line: the md5 check alone
import { hash } from 'node:crypto'
import { hostname } from 'node:os'
import Fastify from 'fastify'
import { batchedLogDestination } from '../../src/log-destination.js'
import { announce, portFromArgs } from './ipc.js'
import { LINE_VARIANTS, type LineVariant } from './line-variants.js'
import { serviceLikeLogging } from './logging.js'

const SECRET = 'test-secret'
const line = (process.env.BENCH_2B_LINE ?? 'pino') as LineVariant
if (!LINE_VARIANTS.includes(line)) throw new Error(`BENCH_2B_LINE must be one of ${LINE_VARIANTS.join(', ')}, got ${line}`)

type Callback = Record<string, any>

const destination = line === 'template' ? batchedLogDestination() : undefined
const app = Fastify(serviceLikeLogging(line === 'no-write' ? { write () {} } : destination))
const lineHead = `{"level":30,"time":`
const lineProcess = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"reqId":"`

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
    if (line === 'none') return { status: 'ok' }
    const kind = body.chat_type ?? body.eventType ?? body.event
    const ms = Math.round(reply.elapsedTime * 100) / 100
    if (destination !== undefined) {
      // What pino writes for the call below, built directly (kind is one of Easemob's plain names).
      destination.write(`${lineHead}${Date.now()}${lineProcess}${request.id}","callId":${JSON.stringify(body.callId)},${kind === undefined ? '' : `"kind":"${String(kind)}",`}"outcome":"dispatched","statusCode":200,"ms":${ms},"msg":"easemob callback"}\n`)
    } else {
      request.log.info({ callId: body.callId, kind, outcome: 'dispatched', statusCode: 200, ms }, 'easemob callback')
    }
    return { status: 'ok' }
  })
})

await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
const address = app.server.address()
announce('fastify-handwritten', typeof address === 'object' && address !== null ? address.port : 0, () => app.close())
