// Option mistakes fail the start, with a code and the option's name; never a callback later.
import t from 'tap'
import Fastify from 'fastify'
import easemobCallback, { type CallbackHandlers, type EasemobCallbackOptions, type ReplayStore } from '../index.js'
import { buildLogged, LEVEL, logCapture, NOW, post, recorder, sample, signed, signedBody } from './helpers/callbacks.js'

async function register (options: EasemobCallbackOptions): Promise<void> {
  const app = Fastify({ logger: false })
  try {
    await app.register(easemobCallback, options)
    await app.ready()
  } finally {
    await app.close()
  }
}

t.test('no secrets: FST_ERR_EASEMOB_NO_SECRET at ready()', async t => {
  const app = Fastify({ logger: false })
  void app.register(easemobCallback, {})
  await t.rejects(async () => { await app.ready() }, { code: 'FST_ERR_EASEMOB_NO_SECRET', message: /secret/ })
  await t.rejects(register({ secrets: [] }), { code: 'FST_ERR_EASEMOB_NO_SECRET' }, 'an empty list is no secret')
  await t.rejects(register({ secrets: [], insecureSkipSignature: false }), { code: 'FST_ERR_EASEMOB_NO_SECRET' })
  await t.rejects(register({ handlers: {} }), { code: 'FST_ERR_EASEMOB_NO_SECRET' })
})

t.test('insecureSkipSignature: true accepts unsigned callbacks and says so at error level at start', async t => {
  const logs = logCapture()
  const rec = recorder(['txt'])
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(easemobCallback, { insecureSkipSignature: true, now: () => NOW, handlers: rec.handlers })
  await app.ready()
  t.teardown(() => app.close())

  const warning = logs.lines.filter(line => line.level === LEVEL.error)
  t.equal(warning.length, 1, 'one error-level line at start, before any request')
  t.match(warning[0].msg, /INSECURE/)
  t.match(warning[0].msg, /not checked/i)

  const unsigned: Record<string, unknown> = signedBody(sample('post_chat_txt'), { callId: 'u1' })
  delete unsigned.security
  t.equal((await post(app, JSON.stringify(unsigned))).statusCode, 200, 'no security at all')
  const wrong = signed(sample('post_chat_txt'), { callId: 'u2', secret: 'whatever' })
  t.equal((await post(app, wrong)).statusCode, 200, 'a wrong signature too')
  t.same(rec.calls.map(call => call.event.callId), ['u1', 'u2'])

  // Everything else still applies.
  t.equal((await post(app, '{"callId":')).statusCode, 400)
  t.same((await post(app, wrong)).json(), { status: 'duplicate' })
  t.same((await post(app, signed(sample('post_chat_txt'), { callId: 'u3', timestamp: NOW - 600_000 }))).json(), { status: 'stale' })
})

t.test('without the insecure switch, a configured secret is checked (the switch defaults off)', async t => {
  const { app, logs } = await buildLogged()
  t.teardown(() => app.close())
  t.same(logs.lines.filter(line => line.level >= LEVEL.error), [], 'no warning at start')
  const unsigned: Record<string, unknown> = signedBody(sample('post_chat_txt'))
  delete unsigned.security
  t.equal((await post(app, JSON.stringify(unsigned))).statusCode, 401)
})

interface BadOption {
  name: string
  options: EasemobCallbackOptions
  /** The option the message must name. */
  names: string | RegExp
}

const fn = (): void => {}

const BAD: BadOption[] = [
  { name: 'a handler for an unknown kind', options: { handlers: { text: fn } as unknown as CallbackHandlers }, names: /handlers.*unknown kind "text"/ },
  { name: 'a handler for kind "messages"', options: { handlers: { messages: fn } as unknown as CallbackHandlers }, names: /"messages"/ },
  { name: 'a handler that is not a function', options: { handlers: { txt: 'log it' } as unknown as CallbackHandlers }, names: 'handlers.txt' },
  { name: 'a * handler that is null', options: { handlers: { '*': null } as unknown as CallbackHandlers }, names: 'handlers.*' },
  { name: 'handlers not an object', options: { handlers: 'all' as unknown as CallbackHandlers }, names: 'handlers' },
  { name: 'maxAgeMs -1', options: { maxAgeMs: -1 }, names: 'maxAgeMs' },
  { name: 'maxAgeMs 0', options: { maxAgeMs: 0 }, names: 'maxAgeMs' },
  { name: 'maxAgeMs 1.5', options: { maxAgeMs: 1.5 }, names: 'maxAgeMs' },
  { name: 'maxAgeMs as a string', options: { maxAgeMs: '300000' as unknown as number }, names: 'maxAgeMs' },
  { name: 'maxFutureMs NaN', options: { maxFutureMs: Number.NaN }, names: 'maxFutureMs' },
  { name: 'replayMaxEntries 0', options: { replayMaxEntries: 0 }, names: 'replayMaxEntries' },
  { name: 'bodyLimit -5', options: { bodyLimit: -5 }, names: 'bodyLimit' },
  { name: 'onStale not a function', options: { onStale: true as unknown as EasemobCallbackOptions['onStale'] }, names: 'onStale' },
  { name: 'now not a function', options: { now: NOW as unknown as () => number }, names: 'now' },
  { name: 'a replay store without release()', options: { replayStore: { claim: () => true } as unknown as ReplayStore }, names: 'replayStore' },
  { name: 'an empty secret', options: { secrets: [''] }, names: 'secrets' },
  { name: 'a secret that is not a string', options: { secrets: [42] as unknown as string[] }, names: 'secrets' },
  { name: 'secrets an object', options: { secrets: { a: 'b' } as unknown as string[] }, names: 'secrets' }
]

for (const bad of BAD) {
  t.test(`${bad.name}: FST_ERR_EASEMOB_BAD_OPTION naming the option`, async t => {
    const error = await register({ secrets: ['s'], ...bad.options }).then(() => undefined, (e: unknown) => e as Error & { code?: string })
    t.ok(error, 'registration failed')
    t.equal(error?.code, 'FST_ERR_EASEMOB_BAD_OPTION')
    if (typeof bad.names === 'string') t.ok(error?.message.includes(`invalid option ${bad.names}:`), `message names ${bad.names}: ${error?.message}`)
    else t.match(error?.message, bad.names)
  })
}

t.test('a registration failure is reported by ready() and by the register promise', async t => {
  const app = Fastify({ logger: false })
  await t.rejects(async () => { await app.register(easemobCallback, { secrets: ['s'], maxAgeMs: -1 }) }, { code: 'FST_ERR_EASEMOB_BAD_OPTION' })
  await app.close().catch(() => {})
})

t.test('good options are accepted: every kind, message and * as handler keys', async t => {
  const rec = recorder()
  await t.resolves(register({
    secrets: ['a', 'b', 'a'],
    handlers: rec.handlers,
    maxAgeMs: 1,
    maxFutureMs: 1,
    replayMaxEntries: 1,
    bodyLimit: 1024,
    onStale: fn,
    now: () => NOW
  }))
  await t.resolves(register({ secrets: 'single' }))
})

t.test('a handler key set to undefined, which the CallbackHandlers type allows, is treated as absent', async t => {
  // `handlers: { txt: enabled ? fn : undefined }` type-checks (every key is optional and
  // exactOptionalPropertyTypes is off), and the dispatcher skips undefined handlers; registration
  // should not refuse it.
  const enabled = false as boolean
  const handlers: CallbackHandlers = { txt: enabled ? fn : undefined, '*': fn }
  await t.resolves(register({ secrets: ['s'], handlers }))
})
