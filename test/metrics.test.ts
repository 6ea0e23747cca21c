// Prometheus metrics: off unless asked for, into the registry given; callbacks by kind and
// outcome, answer and handler times, the outbox's backlog; the service's GET /metrics.
import Fastify from 'fastify'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import t from 'tap'
import easemobCallback, { type EasemobCallbackOptions, Outbox } from '../index.js'
import { buildService } from '../service/app.js'
import { loadConfig } from '../service/config.js'
import { NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'

async function appWith (options: EasemobCallbackOptions) {
  const app = Fastify({ logger: false })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, ...options })
  await app.ready()
  return app
}

/** The value of one sample line of the text exposition, or undefined. */
function valueOf (text: string, line: string): number | undefined {
  const found = text.split('\n').find(candidate => candidate.startsWith(`${line} `))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

t.test('callbacks are counted by route, kind and outcome in the registry given', async t => {
  const registry = new Registry()
  const app = await appWith({ metrics: { registry }, handlers: { img: () => { throw new Error('no') } } })
  t.teardown(() => app.close())
  await post(app, signed(sample('post_chat_txt')))
  await post(app, signed(sample('post_chat_txt')))
  await post(app, signed(sample('post_chat_txt'), { callId: 'forged', secret: 'wrong' }))
  await post(app, '{"broken')
  await post(app, signed(sample('post_chat_txt'), { callId: 'old', timestamp: NOW - 600_000 }))
  await post(app, signed(sample('post_chat_audio')))
  await post(app, signed(sample('post_chat_offline_img')))
  const text = await registry.metrics()
  const count = (kind: string, outcome: string): number | undefined => valueOf(text, `easemob_callbacks_total{route="post-send",kind="${kind}",outcome="${outcome}"}`)
  t.equal(count('txt', 'taken'), 1)
  t.equal(count('txt', 'duplicate'), 1)
  t.equal(count('none', 'bad_signature'), 1)
  t.equal(count('none', 'invalid'), 1)
  t.equal(count('txt', 'stale'), 1)
  t.equal(count('audio', 'taken'), 1)
  t.equal(count('img', 'handler_failed'), 1)
  t.equal(valueOf(text, 'easemob_callback_duration_seconds_count{route="post-send"}'), 7)
  t.equal(valueOf(text, 'easemob_handler_duration_seconds_count{kind="img"}'), 1)
})

t.test('pre-send decisions are counted as pass, block, rewrite and fallback', async t => {
  const registry = new Registry()
  let decision: unknown = { valid: true }
  const app = await appWith({ metrics: { registry }, preSend: () => decision as never })
  t.teardown(() => app.close())
  const ask = async (callId: string): Promise<void> => { await post(app, signed(sample('pre_send_txt'), { callId }), '/pre-send') }
  await ask('a')
  decision = { valid: false }
  await ask('b')
  await ask('b')
  decision = { valid: 'yes' }
  await ask('c')
  const text = await registry.metrics()
  for (const [outcome, n] of [['pass', 1], ['block', 1], ['duplicate', 1], ['fallback', 1]] as const) {
    t.equal(valueOf(text, `easemob_callbacks_total{route="pre-send",kind="txt",outcome="${outcome}"}`) ?? valueOf(text, `easemob_callbacks_total{route="pre-send",kind="none",outcome="${outcome}"}`), n, outcome)
  }
})

t.test('without the option nothing is registered, in prom-client\'s global registry or elsewhere', async t => {
  const { register } = await import('prom-client')
  const before = (await register.getMetricsAsJSON()).length
  const app = await appWith({})
  t.teardown(() => app.close())
  await post(app, signed(sample('post_chat_txt')))
  t.equal((await register.getMetricsAsJSON()).length, before)
})

t.test('the outbox\'s backlog by state', async t => {
  const registry = new Registry()
  const outbox = await Outbox.open({ path: join(t.testdir(), 'outbox.db'), now: () => NOW })
  const app = await appWith({ metrics: { registry }, outbox, outboxMode: 'record' })
  t.teardown(() => app.close())
  await post(app, signed(sample('post_chat_txt')))
  const text = await registry.metrics()
  t.equal(valueOf(text, 'easemob_outbox_callbacks{state="delivered"}'), 1)
  t.equal(valueOf(text, 'easemob_outbox_callbacks{state="pending"}'), 0)
  t.match(text, /easemob_outbox_delivery_failures_total/)
})

t.test('the service serves GET /metrics with the process\'s own metrics, unless METRICS=false', async t => {
  const on = await buildService(loadConfig({ EASEMOB_SECRETS: SECRET, SINKS: 'log' }), { logger: false, now: () => NOW })
  t.teardown(() => on.close())
  await post(on, signed(sample('post_chat_txt')))
  const res = await on.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  t.match(res.body, /process_cpu_user_seconds_total/)
  t.equal(valueOf(res.body, 'easemob_callbacks_total{route="post-send",kind="txt",outcome="taken"}'), 1)
  const off = await buildService(loadConfig({ EASEMOB_SECRETS: SECRET, SINKS: 'log', METRICS: 'false' }), { logger: false })
  t.teardown(() => off.close())
  t.equal((await off.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
})
