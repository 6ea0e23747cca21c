// The outbox: a callback answered 200 is in the file first; the handlers run from it after the
// answer, are retried with backoff, dead-lettered, redelivered; delivered rows are pruned. The
// delivery tests drive the worker with drain() and a clock they move by hand.
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { join } from 'node:path'
import t from 'tap'
import easemobCallback, { type CallbackEvent, type EasemobCallbackOptions, Outbox, type OutboxOptions } from '../index.js'
import type { StoredRow } from '../src/outbox/database.js'
import { type ErrorReply, NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'

const silent = Fastify({ logger: false }).log

async function openOutbox (t: Tap, options: Partial<OutboxOptions> = {}): Promise<{ outbox: Outbox, path: string }> {
  const path = join(t.testdir(), 'outbox.db')
  const outbox = await Outbox.open({ path, now: () => NOW, ...options })
  return { outbox, path }
}

async function appWith (outbox: Outbox, options: EasemobCallbackOptions = {}) {
  const app = Fastify({ logger: false })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, outbox, ...options })
  await app.ready()
  return app
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

t.test('a callback is answered 200 once it is in the outbox; the handlers run from it after the answer', async t => {
  const { outbox, path } = await openOutbox(t)
  let release: () => void = () => {}
  const seen: Array<{ event: CallbackEvent, attempt: number, inRequest: boolean }> = []
  let ran: (value: unknown) => void = () => {}
  const ranOnce = new Promise(resolve => { ran = resolve })
  const gate = new Promise<void>(resolve => { release = resolve })
  const app = await appWith(outbox, {
    handlers: { txt: async (event, context) => { seen.push({ event, attempt: context.attempt, inRequest: context.request !== undefined }); ran(null); await gate } }
  })
  t.teardown(() => app.close())
  const res = await post(app, signed(sample('post_chat_txt')))
  t.same(res.json(), { status: 'ok' }, 'answered without waiting for the handler')
  const file = new Database(path, { readonly: true })
  t.teardown(() => file.close())
  t.match(file.prepare('SELECT call_id, kind, state FROM callbacks').all(), [{ call_id: sample('post_chat_txt').callId, kind: 'txt' }], 'the callback is in the file')
  await ranOnce
  t.equal(seen.length, 1)
  t.match(seen[0], { event: { kind: 'txt', callId: sample('post_chat_txt').callId }, attempt: 1, inRequest: false })
  release()
})

t.test('the outbox remembers across restarts: a replay is a duplicate and is not delivered again', async t => {
  const path = join(t.testdir(), 'outbox.db')
  const delivered: string[] = []
  const handlers = { '*': (event: CallbackEvent) => { delivered.push(event.callId) } }
  const first = await appWith(await Outbox.open({ path, now: () => NOW }), { handlers })
  t.same((await post(first, signed(sample('post_chat_txt')))).json(), { status: 'ok' })
  await first.close()
  const second = await appWith(await Outbox.open({ path, now: () => NOW }), { handlers })
  t.teardown(() => second.close())
  t.same((await post(second, signed(sample('post_chat_txt')))).json(), { status: 'duplicate' }, 'a fresh process, the same file')
  t.same((await post(second, signed(sample('post_chat_audio')))).json(), { status: 'ok' })
})

t.test('a write that does not finish in time is 503; Easemob\'s retry is answered 200 and the callback delivered once', async t => {
  const { outbox, path } = await openOutbox(t, { writeTimeoutMs: 200 })
  const delivered: string[] = []
  const app = await appWith(outbox, { handlers: { '*': event => { delivered.push(event.callId) } } })
  t.teardown(() => app.close())
  const lock = new Database(path)
  lock.exec('BEGIN EXCLUSIVE')
  const blocked = await post(app, signed(sample('post_chat_txt')))
  t.equal(blocked.statusCode, 503)
  t.equal(blocked.json<ErrorReply>().code, 'FST_ERR_EASEMOB_OUTBOX_WRITE_TIMEOUT')
  lock.exec('COMMIT')
  lock.close()
  // The late write may still have committed once the lock went: then the retry finds it held.
  const retry = await post(app, signed(sample('post_chat_txt')))
  t.equal(retry.statusCode, 200, 'the callId was released: the retry is not refused')
  t.match(retry.json(), { status: /^(ok|duplicate)$/ })
  while (delivered.length === 0) await new Promise(resolve => setImmediate(resolve))
  t.same(delivered, [sample('post_chat_txt').callId], 'delivered once')
  t.equal((await outbox.list({})).length, 1, 'one row')
})

t.test('an outbox that cannot be written: 503, nothing answered 200', async t => {
  const { outbox } = await openOutbox(t)
  const app = await appWith(outbox)
  t.teardown(() => app.close())
  await outbox.client.close()
  const res = await post(app, signed(sample('post_chat_txt')))
  t.equal(res.statusCode, 503)
  t.equal(res.json<ErrorReply>().code, 'FST_ERR_EASEMOB_OUTBOX_WRITE_FAILED')
})

t.test('stale callbacks are kept aside, not delivered, until an operator redelivers them', async t => {
  const { outbox } = await openOutbox(t)
  const delivered: string[] = []
  const app = await appWith(outbox, { handlers: { '*': event => { delivered.push(event.callId) } } })
  t.teardown(() => app.close())
  t.same((await post(app, signed(sample('post_chat_txt'), { timestamp: NOW - 600_000 }))).json(), { status: 'stale' })
  t.match(await outbox.list({ state: 'quarantined' }), [{ callId: sample('post_chat_txt').callId }])
  t.equal(await outbox.redeliver({ state: 'quarantined' }), 1)
  while (delivered.length === 0) await new Promise(resolve => setImmediate(resolve))
  t.same(delivered, [sample('post_chat_txt').callId])
})

// ---- delivery, with a clock moved by hand ----

interface Harness {
  outbox: Outbox
  clock: { now: number }
  rows: () => Promise<StoredRow[]>
  write: (name: string, fields?: Record<string, unknown>) => Promise<void>
}

async function harness (t: Tap, options: Partial<OutboxOptions> = {}): Promise<Harness> {
  const clock = { now: NOW }
  const outbox = await Outbox.open({ path: join(t.testdir(), 'outbox.db'), now: () => clock.now, retryBaseMs: 1000, ...options })
  t.teardown(() => outbox.close())
  let n = 0
  return {
    outbox,
    clock,
    rows: () => outbox.list({ limit: 1000 }),
    write: async (name, fields = {}) => {
      const event = { ...sample(name), kind: 'txt', callId: `call-${++n}`, ...fields } as unknown as CallbackEvent
      await outbox.write(event, event.callId, 'pending')
    }
  }
}

t.test('a failing delivery is retried with exponential backoff and jitter, then dead-lettered', async t => {
  const h = await harness(t, { maxAttempts: 4 })
  await h.write('post_chat_txt')
  let attempts = 0
  const worker = h.outbox.worker(async () => { attempts++; throw new Error('backend down') }, silent, () => 0)
  const delays: number[] = []
  for (let i = 0; i < 4; i++) {
    await worker.drain()
    const [row] = await h.rows()
    if (row.nextAttemptAt !== null) delays.push(row.nextAttemptAt - h.clock.now)
    h.clock.now = row.nextAttemptAt ?? h.clock.now
  }
  t.equal(attempts, 4)
  t.same(delays, [500, 1000, 2000], 'half of 1, 2, 4 s with the smallest jitter')
  t.match(await h.rows(), [{ state: 'dead', attempts: 4, lastError: 'backend down', nextAttemptAt: null }])
  await worker.drain()
  t.equal(attempts, 4, 'a dead letter is not attempted again')
})

t.test('jitter spreads retries up to the full backoff, never past retryMaxMs', async t => {
  const h = await harness(t, { retryMaxMs: 1500 })
  await h.write('post_chat_txt')
  const worker = h.outbox.worker(async () => { throw new Error('no') }, silent, () => 0.999)
  await worker.drain()
  t.equal((await h.rows())[0].nextAttemptAt! - h.clock.now, 1000)
  h.clock.now += 1000
  await worker.drain()
  h.clock.now += 2000
  await worker.drain()
  const delay = (await h.rows())[0].nextAttemptAt! - h.clock.now
  t.ok(delay >= 1499 && delay <= 1500, `capped: ${delay}`)
})

t.test('a Retry-After from the backend sets the delay', async t => {
  const h = await harness(t)
  await h.write('post_chat_txt')
  const worker = h.outbox.worker(async () => { throw Object.assign(new Error('slow down'), { retryAfterMs: 42_000 }) }, silent)
  await worker.drain()
  t.equal((await h.rows())[0].nextAttemptAt, h.clock.now + 42_000)
})

t.test('a callback older than maxAgeMs is dead-lettered at its next failure', async t => {
  const h = await harness(t, { maxAgeMs: 60_000 })
  await h.write('post_chat_txt')
  const worker = h.outbox.worker(async () => { throw new Error('no') }, silent)
  await worker.drain()
  h.clock.now += 60_000
  await worker.drain()
  t.match(await h.rows(), [{ state: 'dead', attempts: 2 }])
})

t.test('dead letters are redelivered on request, with a fresh count of attempts', async t => {
  const h = await harness(t, { maxAttempts: 1 })
  await h.write('post_chat_txt')
  await h.write('post_chat_txt')
  let up = false
  const delivered: string[] = []
  const worker = h.outbox.worker(async row => { if (!up) throw new Error('down'); delivered.push(row.callId) }, silent)
  await worker.drain()
  t.same((await h.rows()).map(row => row.state), ['dead', 'dead'])
  up = true
  const [first] = await h.rows()
  t.equal(await h.outbox.redeliver({ ids: [first.id] }), 1)
  await worker.drain()
  t.same(delivered, ['call-1'])
  t.equal(await h.outbox.redeliver({ state: 'dead' }), 1)
  await worker.drain()
  t.same(delivered, ['call-1', 'call-2'])
  t.match(await h.rows(), [{ state: 'delivered', attempts: 1 }, { state: 'delivered', attempts: 1 }])
})

t.test('a time range is replayed: delivered callbacks received in it are delivered again', async t => {
  const h = await harness(t)
  await h.write('post_chat_txt')
  h.clock.now += 10_000
  await h.write('post_chat_txt')
  const delivered: string[] = []
  const worker = h.outbox.worker(async row => { delivered.push(row.callId) }, silent)
  await worker.drain()
  t.equal(await h.outbox.replay(NOW + 5000, NOW + 20_000), 1)
  await worker.drain()
  t.same(delivered, ['call-1', 'call-2', 'call-2'])
})

t.test('delivered callbacks are pruned after retentionMs, and beyond retainRows', async t => {
  const h = await harness(t, { retentionMs: 60_000, retainRows: 2 })
  for (let i = 0; i < 4; i++) await h.write('post_chat_txt')
  const worker = h.outbox.worker(async () => {}, silent)
  await worker.drain()
  t.equal(await worker.prune(), 2, 'the two oldest go beyond retainRows')
  t.same((await h.rows()).map(row => row.callId), ['call-3', 'call-4'])
  h.clock.now += 60_001
  t.equal(await worker.prune(), 2, 'the rest go after retentionMs')
  t.same(await h.rows(), [])
})

t.test('a backend down for a while gets everything once it is back, in order within each conversation', async t => {
  const h = await harness(t, { concurrency: 4 })
  const conversations = [['alice', 'bob'], ['carol', 'dave'], ['bob', 'alice']]
  for (let i = 0; i < 12; i++) {
    const [from, to] = conversations[i % 3]
    await h.write('post_chat_txt', { from, to, msg_id: String(i) })
  }
  await h.write('post_groupchat_txt', { group_id: 'g1', msg_id: 'g-a' })
  await h.write('post_groupchat_txt', { group_id: 'g1', msg_id: 'g-b' })
  let up = false
  const delivered: Array<{ conversation: string, msg: string }> = []
  const worker = h.outbox.worker(async row => {
    if (!up) throw new Error('down')
    await new Promise(resolve => setImmediate(resolve))
    delivered.push({ conversation: String(row.conversation), msg: (row.event as { msg_id: string }).msg_id })
  }, silent, () => 0)
  for (let i = 0; i < 5; i++) {
    await worker.drain()
    h.clock.now += 60_000
  }
  t.equal(delivered.length, 0, 'nothing delivered while down')
  up = true
  await worker.drain()
  t.equal(delivered.length, 14, 'everything once it is back')
  const of = (conversation: string): string[] => delivered.filter(entry => entry.conversation === conversation).map(entry => entry.msg)
  t.same(of('chat:alice\u0000bob'), ['0', '2', '3', '5', '6', '8', '9', '11'], 'both directions of one chat, in order')
  t.same(of('chat:carol\u0000dave'), ['1', '4', '7', '10'])
  t.same(of('group:g1'), ['g-a', 'g-b'])
})

t.test('bad outbox options are refused before anything is opened', async t => {
  await t.rejects(Outbox.open({ path: '' }), { code: 'FST_ERR_EASEMOB_BAD_OPTION', message: /outbox\.path/ })
  await t.rejects(Outbox.open({ path: join(t.testdir(), 'x.db'), maxAttempts: 0 }), { message: /outbox\.maxAttempts/ })
  await t.rejects(Outbox.open({ path: join(t.testdir(), 'y.db'), synchronous: 'off' as never }), { message: /outbox\.synchronous/ })
})

t.test('record mode: handlers run in the request, the outbox remembers what was taken', async t => {
  const path = join(t.testdir(), 'outbox.db')
  let fail = true
  const ran: Array<{ callId: string, inRequest: boolean }> = []
  const handlers = { '*': (event: CallbackEvent, context: { request?: unknown }) => { ran.push({ callId: event.callId, inRequest: context.request !== undefined }); if (fail) throw new Error('no') } }
  const first = await appWith(await Outbox.open({ path, now: () => NOW }), { handlers, outboxMode: 'record' })
  t.equal((await post(first, signed(sample('post_chat_txt')))).statusCode, 500, 'a failing handler fails the request')
  fail = false
  t.same((await post(first, signed(sample('post_chat_txt')))).json(), { status: 'ok' }, 'the record was taken back: the retry is taken')
  t.same(ran, [{ callId: sample('post_chat_txt').callId, inRequest: true }, { callId: sample('post_chat_txt').callId, inRequest: true }])
  await first.close()
  const second = await appWith(await Outbox.open({ path, now: () => NOW }), { handlers, outboxMode: 'record' })
  t.teardown(() => second.close())
  t.same((await post(second, signed(sample('post_chat_txt')))).json(), { status: 'duplicate' }, 'remembered across a restart')
  t.equal(ran.length, 2)
})
