// examples/archive-postgres against the real PostgreSQL on loopback ($DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test), in a schema of its own dropped at the end: every chat
// sample stored, replays and copies stored once, an unknown body type kept raw, edits and recalls
// applied, and the host's own routes answering beside the plugin.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { build, DEFAULT_DATABASE_URL } from '../examples/archive-postgres/app.js'
import type { ArchivedMessage } from '../examples/archive-postgres/archive.js'
import { NOW, post, sample, sampleNames, SECRET, signed } from './helpers/callbacks.js'

const DATABASE_URL = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL
const SCHEMA = `archive_test_${randomBytes(6).toString('hex')}`

/** Why the test cannot run here, or undefined when PostgreSQL answers. */
async function postgresMissing (): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (error) {
    return `PostgreSQL is not answering at ${DATABASE_URL} (${(error as Error).message}); start it or set DATABASE_URL to run the archive example's test`
  } finally {
    await client.end().catch(() => {})
  }
}

const CHAT_SAMPLES = sampleNames().filter(name => name.startsWith('post_chat_') || name === 'post_groupchat_txt' || name.startsWith('legacy_'))

/** What each chat sample becomes: msg_id → [kind, text, conversation, to_id]. */
const EXPECTED: Record<string, [string, string, string, string]> = {
  '1392847561029384756': ['txt', 'hello bob, lunch at noon?', 'alice:bob', 'bob'],
  '1392847561029384757': ['txt', 'meeting moved to 3pm', '228475920187393', '228475920187393'],
  '1392847561029384758': ['img', '[image] whiteboard.jpg', '228475920187393', '228475920187393'],
  '1392847561029384759': ['audio', '[voice 7s]', 'alice:bob', 'alice'],
  '1392847561029384760': ['video', '[video 12s]', 'alice:bob', 'alice'],
  '1392847561029384761': ['file', '[file] q4-report.pdf', 'carol:dave', 'dave'],
  '1392847561029384762': ['loc', '[location] People\'s Square, Shanghai', 'carol:dave', 'carol'],
  '1392847561029384763': ['cmd', '[command] refresh_profile', 'alice:bob', 'bob'],
  '1392847561029384764': ['custom', '[custom] gift_sent', 'alice:bob', 'alice'],
  '1392847561029384765': ['combine', '[merged] Chat history', 'alice:carol', 'alice'],
  '1392848600111222333': ['audio', '[voice 12s]', '228475920187393', '228475920187393']
}

const missing = await postgresMissing()

t.test('examples/archive-postgres', { skip: missing }, async t => {
  const admin = new pg.Client({ connectionString: DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${SCHEMA}`)
  // Every connection of the app's pool starts in the throw-away schema: the example's unqualified
  // table names land there.
  const pool = new pg.Pool({ connectionString: DATABASE_URL, options: `-c search_path=${SCHEMA}` })
  const apps: FastifyInstance[] = []
  t.teardown(async () => {
    for (const app of apps) await app.close()
    await pool.end()
    await admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`)
    await admin.end()
  })
  const start = async (): Promise<FastifyInstance> => {
    const app = await build({ secrets: SECRET, pool, now: () => NOW })
    apps.push(app)
    return app
  }
  const app = await start()

  const rows = async (): Promise<Array<Record<string, unknown>>> =>
    (await admin.query(`SELECT * FROM ${SCHEMA}.messages ORDER BY msg_id`)).rows
  const listing = async (conversation: string, query = ''): Promise<ArchivedMessage[]> => {
    const response = await app.inject({ method: 'GET', url: `/messages/${encodeURIComponent(conversation)}${query}` })
    t.equal(response.statusCode, 200, `GET /messages/${conversation}${query}`)
    return response.json<{ messages: ArchivedMessage[] }>().messages
  }

  await t.test('the app made its tables in the schema of its connections', async t => {
    const { rows: tables } = await admin.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [SCHEMA])
    t.same(tables.map(row => row.table_name), ['messages', 'recalls'])
    await start() // a second start (a restart, another replica) finds them there
  })

  await t.test('the host\'s own routes answer beside the plugin, with the host\'s validation', async t => {
    const health = await app.inject({ method: 'GET', url: '/healthz' })
    t.equal(health.statusCode, 200)
    t.same(health.json(), { status: 'ok' })
    t.same(await listing('nobody:nothing'), [])
    const bad = await app.inject({ method: 'GET', url: '/messages/alice:bob?limit=0' })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json<{ code: string }>().code, 'FST_ERR_VALIDATION', 'Fastify\'s own error format, not the plugin\'s')
    const forged = await post(app, signed(sample('post_chat_txt'), { secret: 'not-the-secret' }), '/easemob/')
    t.equal(forged.statusCode, 401, 'the plugin at /easemob/ checks signatures')
    t.equal(forged.json<{ code: string }>().code, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')
  })

  await t.test('every chat sample is stored, one row per message, whatever its body type', async t => {
    t.equal(CHAT_SAMPLES.length, 11)
    for (const name of CHAT_SAMPLES) {
      const response = await post(app, signed(sample(name)), '/easemob/')
      t.equal(response.statusCode, 200, name)
      t.same(response.json(), { status: 'ok' }, name)
    }
    const stored = await rows()
    t.same(Object.fromEntries(stored.map(row => [row.msg_id, [row.kind, row.text, row.conversation, row.to_id]])), EXPECTED)
    for (const row of stored) {
      t.equal((row.sent_at as Date).getTime(), NOW, `${String(row.msg_id)} sent_at is the callback's timestamp`)
      t.equal(row.unrecognised, null)
    }
    const txt = stored.find(row => row.msg_id === '1392847561029384756') as Record<string, unknown>
    const original = sample('post_chat_txt')
    t.match(txt, { call_id: original.callId, event_type: 'chat', chat_type: 'chat', from_user: 'alice', group_id: null, edit_count: 0 })
    t.same(txt.payload, original.payload, 'the payload as sent')
    const offline = stored.find(row => row.msg_id === '1392847561029384758') as Record<string, unknown>
    t.match(offline, { event_type: 'chat_offline', chat_type: 'groupchat', group_id: '228475920187393', to_id: '228475920187393' },
      'a group message\'s chat_offline copy is stored under the group, not the offline member')
  })

  await t.test('a replay, a retry under a new callId, an offline copy and a restart store nothing twice', async t => {
    const before = await rows()
    const replay = await post(app, signed(sample('post_chat_txt')), '/easemob/')
    t.same(replay.json(), { status: 'duplicate' }, 'the same callId: the plugin\'s duplicate memory answers, the handler does not run')
    const retry = await post(app, signed(sample('post_chat_txt'), { callId: 'acme-corp#chatapp_retry-with-a-new-callid' }), '/easemob/')
    t.same(retry.json(), { status: 'ok' }, 'a new callId: the handler runs...')
    const copy = await post(app, signed({ ...sample('post_chat_offline_img'), to: 'dave' }), '/easemob/')
    t.same(copy.json(), { status: 'ok' }, 'another offline member\'s copy under the same callId is taken by the plugin...')
    const restarted = await start() // a fresh duplicate memory, the same database
    const again = await post(restarted, signed(sample('post_chat_txt')), '/easemob/')
    t.same(again.json(), { status: 'ok' }, 'after a restart the callId is new to the plugin...')
    t.same(await rows(), before, '...and the database, keyed by msg_id, is unchanged')
  })

  await t.test('a body type the package does not know is stored with its raw payload', async t => {
    const payload = { ext: { lang: 'fr' }, bodies: [{ type: 'translation', text: 'bonjour', to: ['en', 'zh'] }] }
    const message = { ...sample('post_chat_txt'), callId: 'acme-corp#chatapp_1392847561029389999', msg_id: '1392847561029389999', payload }
    const response = await post(app, signed(message), '/easemob/')
    t.same(response.json(), { status: 'ok' })
    const row = (await rows()).find(row => row.msg_id === '1392847561029389999') as Record<string, unknown>
    t.match(row, { kind: 'unknown', text: '[translation]', conversation: 'alice:bob', unrecognised: /translation/ })
    t.same(row.payload, payload)
    t.equal((await listing('alice:bob')).at(-1)?.kind, 'unknown')
  })

  await t.test('an edit replaces the text, once', async t => {
    for (const callId of [undefined, 'acme-corp#chatapp_edit-retried']) {
      const response = await post(app, signed(sample('post_edit'), { callId }), '/easemob/')
      t.same(response.json(), { status: 'ok' })
    }
    const row = (await rows()).find(row => row.msg_id === '1392847561029384756') as Record<string, unknown>
    t.match(row, { text: 'hello bob, lunch at 12:30?', edit_count: 1 })
    t.same((row.payload as { bodies: unknown }).bodies, [{ msg: 'hello bob, lunch at 12:30?', type: 'txt' }])
    t.same((row.payload as { ext: unknown }).ext, (sample('post_chat_txt').payload as { ext: unknown }).ext, 'the ext is kept')
  })

  await t.test('a recall is applied: the listing shows the message recalled, without its content', async t => {
    const recall = sample('post_recall')
    t.equal(recall.recall_id, '1392847561029384756', 'the sample recalls alice\'s "hello bob"')
    t.same((await post(app, signed(recall), '/easemob/')).json(), { status: 'ok' })
    t.same((await post(app, signed(recall, { callId: 'acme-corp#chatapp_recall-retried' }), '/easemob/')).json(), { status: 'ok' })
    const { rows: recalls } = await admin.query(`SELECT * FROM ${SCHEMA}.recalls`)
    t.equal(recalls.length, 1, 'recorded once')
    t.match(recalls[0], { msg_id: '1392847561029384756', call_id: recall.callId, recalled_by: 'alice' })
    const recalled = (await listing('alice:bob')).find(message => message.msgId === '1392847561029384756')
    t.match(recalled, { kind: 'txt', text: null, payload: null, recalledAt: new Date(NOW).toISOString() })
  })

  await t.test('a recall that comes before its message still applies', async t => {
    const early = { ...sample('post_recall'), callId: 'acme-corp#chatapp_early-recall', recall_id: '1392847561029388888', payload: { ext: {}, ack_message_id: '1392847561029388888', bodies: [] } }
    t.same((await post(app, signed(early), '/easemob/')).json(), { status: 'ok' })
    const late = { ...sample('post_chat_txt'), callId: 'acme-corp#chatapp_1392847561029388888', msg_id: '1392847561029388888' }
    t.same((await post(app, signed(late), '/easemob/')).json(), { status: 'ok' })
    t.match((await listing('alice:bob')).find(message => message.msgId === '1392847561029388888'), { text: null, recalledAt: new Date(NOW).toISOString() })
  })

  await t.test('GET /messages/:conversation lists the latest messages, oldest first', async t => {
    const group = await listing('228475920187393')
    t.same(group.map(message => [message.msgId, message.kind, message.text]), [
      ['1392847561029384757', 'txt', 'meeting moved to 3pm'],
      ['1392847561029384758', 'img', '[image] whiteboard.jpg'],
      ['1392848600111222333', 'audio', '[voice 12s]']
    ])
    t.same((await listing('228475920187393', '?limit=2')).map(message => message.msgId), ['1392847561029384758', '1392848600111222333'])
    t.match(group[0], { chatType: 'groupchat', from: 'alice', to: '228475920187393', groupId: '228475920187393', editCount: 0, recalledAt: null, sentAt: new Date(NOW).toISOString() })
  })
})
