// The plugin inside a host application: its parser, error handler and hooks stay in its own
// encapsulated context, and the host's own routes, parser and handlers are left as they were.
import t from 'tap'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import easemobCallback from '../index.js'
import { type ErrorReply, LEVEL, logCapture, type LogCapture, NOW, post, recorder, type Recorder, sample, SECRET, signed } from './helpers/callbacks.js'

interface Host {
  app: FastifyInstance
  logs: LogCapture
  rec: Recorder
  /** Host hooks that ran, by url. */
  hostHooks: string[]
  hostErrors: string[]
}

/** The plugin's own per-callback lines among everything logged. */
function callbackLines (logs: LogCapture): LogCapture['lines'] {
  return logs.lines.filter(line => typeof line.msg === 'string' && line.msg.startsWith('easemob callback'))
}

async function host (): Promise<Host> {
  const logs = logCapture()
  const rec = recorder(['txt', 'message', '*'])
  const hostHooks: string[] = []
  const hostErrors: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })

  // The host's own JSON parser marks what it parsed.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, { parsedByHost: true, value: JSON.parse(text as string) as unknown })
    } catch (error) {
      const failure = error as FastifyError
      failure.statusCode = 400
      done(failure, undefined)
    }
  })
  app.setErrorHandler((error: FastifyError, request, reply) => {
    hostErrors.push(request.url)
    void reply.code(error.statusCode ?? 500).send({ host: 'error', message: error.message })
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ host: 'not-found', url: request.url })
  })
  app.addHook('onRequest', async (request) => { hostHooks.push(request.url) })

  app.get('/', async () => ({ host: 'home' }))
  app.post('/api/echo', async (request) => ({ echo: request.body }))
  app.post('/api/fail', async () => { throw Object.assign(new Error('host route failed'), { statusCode: 409 }) })

  await app.register(easemobCallback, { prefix: '/easemob', secrets: [SECRET], now: () => NOW, handlers: rec.handlers })
  await app.ready()
  return { app, logs, rec, hostHooks, hostErrors }
}

t.test('callbacks work at POST /easemob/ and POST /easemob', async t => {
  const h = await host()
  t.teardown(() => h.app.close())
  const a = await post(h.app, signed(sample('post_chat_txt'), { callId: 'slash' }), '/easemob/')
  t.equal(a.statusCode, 200)
  t.same(a.json(), { status: 'ok' })
  const b = await post(h.app, signed(sample('post_chat_txt'), { callId: 'no-slash' }), '/easemob')
  t.equal(b.statusCode, 200)
  t.same(b.json(), { status: 'ok' })
  t.same(h.rec.calls.map(call => [call.name, call.event.callId]), [
    ['txt', 'slash'], ['message', 'slash'], ['*', 'slash'],
    ['txt', 'no-slash'], ['message', 'no-slash'], ['*', 'no-slash']
  ])
  t.notOk('parsedByHost' in h.rec.calls[0].event, 'the plugin parsed its body itself, not with the host parser')
  t.same(h.hostHooks, ['/easemob/', '/easemob'], 'the host\'s own hooks still see the plugin\'s routes (they are the host\'s to run)')
})

t.test('the plugin\'s rejections use the plugin\'s error format inside the host', async t => {
  const h = await host()
  t.teardown(() => h.app.close())
  const bad = await post(h.app, '{"callId":', '/easemob/')
  t.equal(bad.statusCode, 400)
  t.equal(bad.json<ErrorReply>().code, 'FST_ERR_EASEMOB_BAD_JSON')
  const unsigned = await post(h.app, signed(sample('post_chat_txt'), { secret: 'nope' }), '/easemob/')
  t.equal(unsigned.statusCode, 401)
  t.equal(unsigned.json<ErrorReply>().code, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')
  const text = await post(h.app, signed(sample('post_chat_txt')), '/easemob/', 'text/plain')
  t.equal(text.statusCode, 415, 'text/plain is refused by the plugin even though the host parses it')
  t.same(h.hostErrors, [], 'the host error handler was not used for the plugin\'s routes')
  t.same(h.rec.calls, [])
})

t.test('the host\'s routes are unaffected', async t => {
  const h = await host()
  t.teardown(() => h.app.close())

  const home = await h.app.inject({ method: 'GET', url: '/' })
  t.equal(home.statusCode, 200)
  t.same(home.json(), { host: 'home' })

  const echo = await post(h.app, '{"hello":"world"}', '/api/echo')
  t.equal(echo.statusCode, 200)
  t.same(echo.json(), { echo: { parsedByHost: true, value: { hello: 'world' } } }, 'host JSON still goes through the host parser')

  // A body the plugin would refuse (unsigned, an array, __proto__) is the host's business.
  const array = await post(h.app, '[1,2]', '/api/echo')
  t.same(array.json(), { echo: { parsedByHost: true, value: [1, 2] } })
  const empty = await post(h.app, '{}', '/api/echo')
  t.equal(empty.statusCode, 200, 'no signature check on host routes')

  const plain = await post(h.app, 'just text', '/api/echo', 'text/plain')
  t.equal(plain.statusCode, 200)
  t.same(plain.json(), { echo: 'just text' }, 'text/plain still parsed by Fastify\'s default text parser')

  const broken = await post(h.app, '{"hello":', '/api/echo')
  t.equal(broken.statusCode, 400)
  t.equal(broken.json<{ host: string }>().host, 'error', 'host parse errors use the host error handler')

  const fail = await h.app.inject({ method: 'POST', url: '/api/fail' })
  t.equal(fail.statusCode, 409)
  t.same(fail.json(), { host: 'error', message: 'host route failed' }, 'host errors use the host error handler')
  t.same(h.hostErrors, ['/api/echo', '/api/fail'])

  const missing = await h.app.inject({ method: 'GET', url: '/nowhere' })
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { host: 'not-found', url: '/nowhere' }, 'host not-found handler')
  const missingInPrefix = await h.app.inject({ method: 'GET', url: '/easemob/' })
  t.equal(missingInPrefix.statusCode, 404)
  t.same(missingInPrefix.json(), { host: 'not-found', url: '/easemob/' }, 'also under the plugin prefix')

  t.same(h.rec.calls, [], 'no callback handler ran for host routes')
})

t.test('the plugin\'s hooks do not run for host routes', async t => {
  const h = await host()
  t.teardown(() => h.app.close())
  await h.app.inject({ method: 'GET', url: '/' })
  await post(h.app, '{"a":1}', '/api/echo')
  await h.app.inject({ method: 'POST', url: '/api/fail' })
  await h.app.inject({ method: 'GET', url: '/nowhere' })
  const pluginLines = callbackLines(h.logs)
  t.same(pluginLines, [], 'no per-callback log line for host requests')

  await post(h.app, signed(sample('post_chat_txt')), '/easemob/')
  const after = h.logs.lines.filter(line => line.msg === 'easemob callback')
  t.equal(after.length, 1, 'but one for the callback')
  t.equal(after[0].level, LEVEL.info)
})

t.test('the host cannot see the plugin\'s decorations', async t => {
  const h = await host()
  t.teardown(() => h.app.close())
  t.notOk(h.app.hasDecorator('easemobDispatcher'), 'the dispatcher stays inside the plugin')
  t.notOk(h.app.hasRequestDecorator('easemobTrace'))
})

t.test('two instances with different prefixes and secrets do not mix', async t => {
  const app = Fastify({ logger: false })
  const a = recorder(['*'])
  const b = recorder(['*'])
  await app.register(easemobCallback, { prefix: '/rule-a', secrets: ['secret-a'], now: () => NOW, handlers: a.handlers })
  await app.register(easemobCallback, { prefix: '/rule-b', secrets: ['secret-b'], now: () => NOW, handlers: b.handlers })
  await app.ready()
  t.teardown(() => app.close())
  t.equal((await post(app, signed(sample('post_chat_txt'), { secret: 'secret-a' }), '/rule-a/')).statusCode, 200)
  t.equal((await post(app, signed(sample('post_chat_txt'), { secret: 'secret-a' }), '/rule-b/')).statusCode, 401, 'rule b does not take rule a\'s secret')
  t.equal((await post(app, signed(sample('post_chat_txt'), { secret: 'secret-b' }), '/rule-b/')).statusCode, 200, 'each has its own replay memory')
  t.equal(a.calls.length, 1)
  t.equal(b.calls.length, 1)
})

t.test('Fastify\'s logLevel register option quiets the plugin\'s line for callbacks taken, not for stale ones', async t => {
  const logs = logCapture()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(easemobCallback, { prefix: '/easemob', logLevel: 'warn', secrets: [SECRET], now: () => NOW })
  app.post('/api/echo', async (request) => {
    request.log.info('host line')
    return { echo: request.body }
  })
  await app.ready()
  t.teardown(() => app.close())

  const fresh = signed(sample('post_chat_txt'))
  t.same((await post(app, fresh, '/easemob/')).json(), { status: 'ok' })
  t.same((await post(app, fresh, '/easemob/')).json(), { status: 'duplicate' })
  const stale = signed(sample('post_chat_txt'), { callId: 'stale-one', timestamp: NOW - 3_600_000 })
  t.same((await post(app, stale, '/easemob/')).json(), { status: 'stale' })
  await post(app, '{"a":1}', '/api/echo')

  const pluginLines = callbackLines(logs)
  t.same(pluginLines.map(line => [line.level, line.outcome]), [[LEVEL.warn, 'stale']], 'only the stale callback is logged')
  t.equal(logs.lines.filter(line => line.msg === 'host line').length, 1, 'the host\'s own routes keep their level')
})
