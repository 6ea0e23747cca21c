import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { timingSafeEqual, createHash } from 'node:crypto'
import type { Outbox } from '../index.js'
import { ROW_STATES, type StoredRow } from '../src/outbox/database.js'

export interface AdminOptions {
  outbox: Outbox
  /** Bearer token every request must carry. */
  token: string
}

const State = Type.Union(ROW_STATES.map(state => Type.Literal(state)))
const ListQuery = Type.Object({
  state: Type.Optional(State),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  after: Type.Integer({ minimum: 0, default: 0 })
})
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) })
const RedeliverBody = Type.Union([
  Type.Object({ ids: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
  Type.Object({ state: State }, { additionalProperties: false })
])
/** A time as ms since the epoch or an ISO 8601 text. */
const Time = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'date-time' })])
const ReplayBody = Type.Object({ from: Time, to: Time }, { additionalProperties: false })

function ms (time: number | string): number {
  return typeof time === 'number' ? time : Date.parse(time)
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** A row for an operator: the event parsed, times as ISO text. */
function view (row: StoredRow, withBody: boolean): Record<string, unknown> {
  const iso = (at: number | null): string | null => at === null ? null : new Date(at).toISOString()
  const { body, ...rest } = row
  return {
    ...rest,
    receivedAt: iso(row.receivedAt),
    nextAttemptAt: iso(row.nextAttemptAt),
    deliveredAt: iso(row.deliveredAt),
    ...(withBody ? { event: JSON.parse(body) as unknown } : {})
  }
}

/**
 * Operators' routes for the outbox, under the prefix they are registered with: counts, list,
 * inspect, redeliver, replay a time range. Every request needs `Authorization: Bearer <token>`.
 */
const admin: FastifyPluginAsync<AdminOptions> = async (fastify, { outbox, token }) => {
  const expected = digest(`Bearer ${token}`)
  fastify.addHook('onRequest', async (request, reply) => {
    // Compared as digests of equal length, so that the time taken says nothing about the token.
    if (!timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      return await reply.code(401).header('www-authenticate', 'Bearer').send({ statusCode: 401, error: 'Unauthorized', message: 'a valid admin token is required' })
    }
  })

  fastify.get('/outbox', async () => ({ counts: await outbox.counts() }))

  fastify.get<{ Querystring: Static<typeof ListQuery> }>('/outbox/callbacks', { schema: { querystring: ListQuery } }, async request => {
    const rows = await outbox.list({ state: request.query.state, limit: request.query.limit, afterId: request.query.after })
    return { callbacks: rows.map(row => view(row, false)), next: rows.length === request.query.limit ? rows[rows.length - 1].id : null }
  })

  fastify.get<{ Params: Static<typeof IdParams> }>('/outbox/callbacks/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const row = await outbox.get(request.params.id)
    if (row === undefined) return await reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no callback ${request.params.id} in the outbox` })
    return view(row, true)
  })

  fastify.post<{ Body: Static<typeof RedeliverBody> }>('/outbox/redeliver', { schema: { body: RedeliverBody } }, async request => {
    return { redelivered: await outbox.redeliver(request.body) }
  })

  fastify.post<{ Body: Static<typeof ReplayBody> }>('/outbox/replay', { schema: { body: ReplayBody } }, async request => {
    return { replayed: await outbox.replay(ms(request.body.from), ms(request.body.to)) }
  })
}

export default admin
