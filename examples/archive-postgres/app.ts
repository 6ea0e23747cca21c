// A host application with routes of its own and the Easemob callback plugin mounted beside them
// under /easemob, storing every chat message in PostgreSQL (recalls and edits applied).
//
//   node --import tsx examples/archive-postgres/app.ts
//
// See README.md beside this file for the settings and how to try it.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import pg from 'pg'
// In your own app: import easemobCallback from 'fastify-easemob-callback'
import easemobCallback from 'fastify-easemob-callback'
import { applyEdit, applyRecall, createSchema, listMessages, storeMessage } from './archive.js'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'

export interface ArchiveAppOptions {
  /** The secret of each Easemob console rule that calls this app. */
  secrets: string | readonly string[]
  /** Where to connect when no `pool` is given. Default $DATABASE_URL, else DEFAULT_DATABASE_URL. */
  databaseUrl?: string
  /** A pool of your own instead: the app uses it and leaves closing it to you. */
  pool?: pg.Pool
  /** The plugin's clock, for tests. */
  now?: () => number
  logger?: FastifyServerOptions['logger']
}

/** The app, its tables created (if they were not there) and its routes registered; not listening yet. */
export async function build (options: ArchiveAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false })
  const pool = options.pool ?? new pg.Pool({
    connectionString: options.databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    // Well inside the plugin's 8 s handler budget: an unreachable or stuck database fails the
    // callback with a 5xx, and Easemob's retry comes back for it.
    connectionTimeoutMillis: 5000,
    query_timeout: 5000
  })
  if (options.pool === undefined) {
    pool.on('error', error => { app.log.error({ err: error }, 'idle PostgreSQL connection failed') })
    app.addHook('onClose', async () => { await pool.end() })
  }
  try {
    await createSchema(pool)
  } catch (error) {
    await app.close()
    throw error
  }

  // The host's own routes. The plugin's parser, validator, hooks and error handler stay inside
  // /easemob: these keep Fastify's defaults (the querystring below is checked by the host's Ajv).
  app.get('/healthz', async (_request, reply) => {
    try {
      await pool.query('SELECT 1')
      return { status: 'ok' }
    } catch {
      return reply.code(503).send({ status: 'database unavailable' })
    }
  })

  app.get<{ Params: { conversation: string }, Querystring: { limit: number } }>('/messages/:conversation', {
    schema: {
      params: { type: 'object', properties: { conversation: { type: 'string', minLength: 1 } } },
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } }
    }
  }, async request => {
    const { conversation } = request.params
    return { conversation, messages: await listMessages(pool, conversation, request.query.limit) }
  })

  // Easemob's post-send callbacks at POST /easemob/ (point the console rule there). A callback is
  // answered 200 once its handler is done; a handler that throws (the database is down) makes it a
  // 500, its callId is released, and Easemob's retry is taken.
  await app.register(easemobCallback, {
    prefix: '/easemob',
    secrets: options.secrets,
    now: options.now ?? Date.now,
    handlers: {
      // Every chat, group and room message, whatever its body type; `kind: 'unknown'` (with
      // `unrecognised`) for a type the package does not know, stored all the same.
      message: async (event, { log }) => {
        if (!await storeMessage(pool, event)) log.debug({ msgId: event.msg_id, callId: event.callId }, 'message already archived')
      },
      recall: async (event) => { await applyRecall(pool, event) },
      edit: async (event) => { await applyEdit(pool, event) }
    }
  })
  return app
}

async function main (): Promise<void> {
  const port = Number(process.env.PORT ?? 3000)
  const host = process.env.HOST ?? '127.0.0.1'
  const secrets = (process.env.EASEMOB_SECRETS ?? '').split(',').map(secret => secret.trim()).filter(secret => secret !== '')
  if (secrets.length === 0) {
    secrets.push('test-secret')
    console.warn('EASEMOB_SECRETS is not set: accepting callbacks signed with the samples\' "test-secret" (never in production)')
  }
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL
  let app: FastifyInstance
  try {
    app = await build({ secrets, databaseUrl, logger: { level: process.env.LOG_LEVEL ?? 'info' } })
  } catch (error) {
    console.error(`cannot prepare the archive in ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}: ${(error as Error).message}`)
    process.exit(1)
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
  }
  try {
    await app.listen({ port, host })
  } catch (error) {
    console.error(`cannot listen on ${host}:${port}: ${(error as Error).message}`)
    await app.close()
    process.exit(1)
  }
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  console.log(`
Archive listening on ${base}; callbacks at ${base}/easemob/ (the URL of the console's post-send rule).
Try it (from the repository root):
  npm run send -- all --url ${base}/easemob/   every sample: messages of each type, an edit and a recall
  curl ${base}/messages/alice:bob              a one-to-one conversation ("hello bob" edited, then recalled)
  curl ${base}/messages/228475920187393        a group's
Sending the samples again stores nothing twice: they are new callIds, but the same messages.
`)
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) await main()
