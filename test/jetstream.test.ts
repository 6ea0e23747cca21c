// The `nats` sink against a real nats-server with JetStream (started by the test, never the
// machine's shared one): what is answered 200 is in the stream, once, across replicas and restarts.
import { setTimeout as pause } from 'node:timers/promises'
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import easemobCallback from '../index.js'
import { ERR_BAD_OPTION } from '../src/errors.js'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import { connectionOptionsOf, JetStreamSink, type JetStreamSinkOptions, messageIdOf } from '../src/sinks/jetstream.js'
import { NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'
import { type NatsServer, natsServerMissing, startNatsServer } from './helpers/nats-server.js'
import { freePort } from './helpers/service-process.js'

const missing = natsServerMissing()
const when = { skip: missing ?? false }

interface Reply { status?: string, code?: string }
const replyOf = (response: LightMyRequestResponse): Reply => response.json() as Reply

/** The plugin with one sink and its own in-memory duplicate memory: one replica. */
async function replica (t: Test, sink: JetStreamSink): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, sinks: [sink] })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

async function openSink (t: Test, options: JetStreamSinkOptions): Promise<JetStreamSink> {
  const sink = await JetStreamSink.open(options)
  t.teardown(() => sink.close())
  return sink
}

/** A plain client of the test's own, to look into the server as an operator would. */
async function client (t: Test, server: NatsServer): Promise<{ nc: NatsConnection, jsm: JetStreamManager }> {
  const nc = await connect({ servers: server.url })
  t.teardown(() => nc.close())
  return { nc, jsm: await jetstreamManager(nc) }
}

interface Stored { subject: string, event: CallbackEvent, msgId: string }

/** Every message the stream holds, in order. */
async function storedIn (jsm: JetStreamManager, stream: string): Promise<Stored[]> {
  const { state } = await jsm.streams.info(stream)
  const stored: Stored[] = []
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq })
    if (message !== null) stored.push({ subject: message.subject, event: message.json<CallbackEvent>(), msgId: message.header.get('Nats-Msg-Id') })
  }
  return stored
}

/** Polls `check` until it holds; fails the test past `ms`. */
async function until (check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!await check().catch(() => false)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await pause(25)
  }
}

const callback = (callId: string): string => signed(sample('post_chat_txt'), { callId })

let shared: NatsServer
t.before(async () => { if (missing === undefined) shared = await startNatsServer(t) })

t.test('a callback answered 200 is in the stream under easemob.callbacks.<kind>, as the event', when, async t => {
  const sink = await openSink(t, { servers: shared.url })
  const app = await replica(t, sink)
  const text = await post(app, callback('stored-1'))
  t.equal(text.statusCode, 200)
  t.equal(replyOf(text).status, 'ok')
  // A chat_offline copy's replay key holds a NUL and the recipient: the message id must still be a header.
  const offline = await post(app, signed(sample('post_chat_offline_img')))
  t.equal(offline.statusCode, 200, offline.body)

  const { jsm } = await client(t, shared)
  const stored = await storedIn(jsm, 'EASEMOB_CALLBACKS')
  t.equal(stored.length, 2)
  t.equal(stored[0]?.subject, 'easemob.callbacks.txt')
  t.match(stored[0]?.event, { callId: 'stored-1', kind: 'txt', eventType: 'chat', payload: { bodies: [{ type: 'txt' }] } })
  t.equal(stored[0]?.msgId, messageIdOf('stored-1'))
  t.equal(stored[1]?.msgId, messageIdOf('acme-corp#chatapp_1392847561029384758\u0000carol'))
  t.match(stored[1]?.msgId, /^[A-Za-z0-9_-]{43}$/)
  t.match(stored[1]?.event, { eventType: 'chat_offline', to: 'carol', kind: 'img' })
  t.equal(stored[1]?.subject, 'easemob.callbacks.img')
})

t.test('50 concurrent copies over two replicas: one ok, the rest duplicate, one message', when, async t => {
  const options = { servers: shared.url, subject: 'concurrent.callbacks', stream: 'CONCURRENT' }
  const apps = [await replica(t, await openSink(t, options)), await replica(t, await openSink(t, options))]
  const body = callback('concurrent-1')
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => post(apps[i % 2] as FastifyInstance, body)))
  t.same(replies.map(reply => reply.statusCode).filter(code => code !== 200), [])
  const statuses = replies.map(reply => replyOf(reply).status)
  t.equal(statuses.filter(status => status === 'ok').length, 1)
  t.equal(statuses.filter(status => status === 'duplicate').length, 49)
  const { jsm } = await client(t, shared)
  t.equal((await storedIn(jsm, 'CONCURRENT')).length, 1)
})

t.test('a durable pull consumer sees every accepted callback once', when, async t => {
  const options = { servers: shared.url, subject: 'durable.callbacks', stream: 'DURABLE' }
  const apps = [await replica(t, await openSink(t, options)), await replica(t, await openSink(t, options))]
  const posts: Array<Promise<LightMyRequestResponse>> = []
  for (let i = 0; i < 100; i++) {
    posts.push(post(apps[i % 2] as FastifyInstance, callback(`durable-${i}`)))
    // Every third one again at the other replica, as Easemob's retry or a second delivery would be.
    if (i % 3 === 0) posts.push(post(apps[(i + 1) % 2] as FastifyInstance, callback(`durable-${i}`)))
  }
  const replies = await Promise.all(posts)
  t.same(replies.filter(reply => reply.statusCode !== 200).map(reply => reply.body), [])
  t.equal(replies.filter(reply => replyOf(reply).status === 'ok').length, 100)

  const { nc, jsm } = await client(t, shared)
  await jsm.consumers.add('DURABLE', { durable_name: 'workers', ack_policy: AckPolicy.Explicit })
  const consumer = await jetstream(nc).consumers.get('DURABLE', 'workers')
  const seen: string[] = []
  const messages = await consumer.consume({ max_messages: 20 })
  for await (const message of messages) {
    seen.push(message.json<CallbackEvent>().callId)
    await message.ackAck()
    if (seen.length === 100) break
  }
  t.equal(new Set(seen).size, 100)
  const info = await consumer.info()
  t.equal(info.num_pending, 0, 'nothing left to deliver')
  t.equal(info.num_ack_pending, 0, 'every delivery acknowledged')
})

t.test('NATS restarted: 503 while it is down, 200 again once the client is back, nothing lost', when, async t => {
  const server = await startNatsServer(t)
  const sink = await openSink(t, { servers: server.url, timeoutMs: 1000, reconnectWaitMs: 100 })
  const app = await replica(t, sink)
  const before = Array.from({ length: 10 }, (_, i) => `restart-before-${i}`)
  for (const reply of await Promise.all(before.map(callId => post(app, callback(callId))))) t.equal(replyOf(reply).status, 'ok')

  await server.stop()
  const during = Array.from({ length: 10 }, (_, i) => `restart-during-${i}`)
  const down = await Promise.all(during.map(callId => post(app, callback(callId))))
  t.same(down.map(reply => reply.statusCode), during.map(() => 503))
  for (const reply of down) t.match(replyOf(reply).code, /^FST_ERR_EASEMOB_SINK_(FAILED|TIMEOUT)$/)
  await t.rejects(sink.probe(), { code: 'FST_ERR_EASEMOB_SINK_FAILED' }, 'not ready while NATS is down')

  await server.start()
  await until(async () => { await sink.probe(); return true }, 10_000, 'the sink reconnected')
  // The callbacks refused while NATS was down are Easemob's retries now; then some new ones.
  const after = [...during, ...Array.from({ length: 10 }, (_, i) => `restart-after-${i}`)]
  for (const reply of await Promise.all(after.map(callId => post(app, callback(callId))))) t.equal(replyOf(reply).status, 'ok', reply.body)

  const { jsm } = await client(t, server)
  const kept = (await storedIn(jsm, 'EASEMOB_CALLBACKS')).map(stored => stored.event.callId)
  t.same(kept.filter(callId => before.includes(callId)).sort(), [...before].sort(), 'every callback answered 200 before the stop is still there')
  t.equal(kept.length, before.length + after.length, 'each once')
})

t.test('a stalled NATS: 503 once the ack is late, and the retry finds what it kept meanwhile', when, async t => {
  const server = await startNatsServer(t)
  const sink = await openSink(t, { servers: server.url, timeoutMs: 300 })
  const app = await replica(t, sink)
  server.freeze()
  const started = Date.now()
  const late = await post(app, callback('stalled-1'))
  const waited = Date.now() - started
  server.thaw()
  t.equal(late.statusCode, 503)
  t.equal(replyOf(late).code, 'FST_ERR_EASEMOB_SINK_TIMEOUT')
  t.ok(waited >= 300, `answered after the timeout, not before (${waited} ms)`)
  // The server took the publish once it ran again; Easemob's retry is then a duplicate, held once.
  const retry = await post(app, callback('stalled-1'))
  t.equal(retry.statusCode, 200)
  t.equal(replyOf(retry).status, 'duplicate')
  const { jsm } = await client(t, server)
  t.same((await storedIn(jsm, 'EASEMOB_CALLBACKS')).map(stored => stored.event.callId), ['stalled-1'])
})

t.test('the stream is created when missing, with the duplicate window and max age asked for', when, async t => {
  const { jsm } = await client(t, shared)
  await t.rejects(jsm.streams.info('CREATED'), 'missing at first')
  await openSink(t, { servers: shared.url, subject: 'created.callbacks', stream: 'CREATED', duplicateWindowMs: 120_000, maxAgeMs: 3_600_000 })
  const { config } = await jsm.streams.info('CREATED')
  t.match(config, {
    subjects: ['created.callbacks.>'],
    description: /fastify-easemob-callback/,
    storage: 'file',
    retention: 'limits',
    duplicate_window: nanos(120_000),
    max_age: nanos(3_600_000)
  })
  // Opened again (another replica, a restart): the stream is there and is left as it is.
  const again = await openSink(t, { servers: shared.url, subject: 'created.callbacks', stream: 'CREATED', maxAgeMs: 7_200_000 })
  t.equal((await jsm.streams.info('CREATED')).config.max_age, nanos(3_600_000))
  await again.probe()
})

t.test("an operator's stream is used as it is", when, async t => {
  const { jsm } = await client(t, shared)
  await jsm.streams.add({ name: 'OPERATORS', subjects: ['ops.callbacks.>', 'ops.other'], storage: 'memory', max_age: nanos(60_000), duplicate_window: nanos(30_000) })
  const sink = await openSink(t, { servers: shared.url, subject: 'ops.callbacks', stream: 'OPERATORS' })
  const event = JSON.parse(callback('ops-1')) as CallbackEvent
  event.kind = 'txt'
  t.equal(await sink.write(event, 'ops-1'), true)
  t.equal(await sink.write(event, 'ops-1'), false, "JetStream's duplicate window drops the copy")
  t.match((await jsm.streams.info('OPERATORS')).config, { storage: 'memory', max_age: nanos(60_000), subjects: ['ops.callbacks.>', 'ops.other'] })
})

t.test('a connection of the application is used and left open', when, async t => {
  const { nc } = await client(t, shared)
  const sink = await JetStreamSink.open({ connection: nc, subject: 'borrowed.callbacks', stream: 'BORROWED' })
  const event = { ...(JSON.parse(callback('borrowed-1')) as CallbackEvent), kind: 'txt' } as CallbackEvent
  t.equal(await sink.write(event, 'borrowed-1'), true)
  await sink.close()
  t.equal(nc.isClosed(), false)
  await t.rejects(sink.write(event, 'borrowed-2'), { code: 'FST_ERR_EASEMOB_SINK_FAILED' }, 'a closed sink takes nothing')
})

t.test('credentials in the URL are used (the client alone would drop them)', when, async t => {
  const server = await startNatsServer(t, { user: 'easemob', pass: 'p@ss:word' })
  t.match(server.url, /^nats:\/\/easemob:p%40ss%3Aword@127\.0\.0\.1:\d+$/)
  const sink = await openSink(t, { servers: server.url, subject: 'auth.callbacks', stream: 'AUTH' })
  await sink.probe()
  await t.rejects(JetStreamSink.open({ servers: `nats://127.0.0.1:${server.port}`, stream: 'AUTH' }), { code: 'FST_ERR_EASEMOB_SINK_FAILED' })
})

t.test('server URLs and options are checked before connecting', async t => {
  t.same(connectionOptionsOf('nats://a:4222, tls://b:4223'), { servers: ['a:4222', 'b:4223'], tls: {} })
  t.same(connectionOptionsOf(['nats://s3cret@a:4222']), { servers: ['a:4222'], token: 's3cret' })
  t.throws(() => connectionOptionsOf('ws://a:8080'), ERR_BAD_OPTION)
  t.throws(() => connectionOptionsOf(' , '), ERR_BAD_OPTION)
  t.throws(() => connectionOptionsOf(['nats://u:p@a', 'nats://v:q@b']), ERR_BAD_OPTION)
  await t.rejects(JetStreamSink.open({ servers: 'nats://a', subject: 'easemob.*' }), { code: 'FST_ERR_EASEMOB_BAD_OPTION' })
  await t.rejects(JetStreamSink.open({ servers: 'nats://a', duplicateWindowMs: 10_000, maxAgeMs: 5000 }), { code: 'FST_ERR_EASEMOB_BAD_OPTION' })
  await t.rejects(JetStreamSink.open({}), { code: 'FST_ERR_EASEMOB_BAD_OPTION' })
})

t.test('open() rejects when nothing answers at the address, so a wrong NATS_URL stops the start', async t => {
  const port = await freePort()
  await t.rejects(JetStreamSink.open({ servers: `nats://127.0.0.1:${port}` }), { code: 'FST_ERR_EASEMOB_SINK_FAILED' })
})
