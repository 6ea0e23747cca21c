// What a user's handlers see and what their failures do: order, 500s that say nothing about the
// cause, and one log line per callback without message content.
import t from 'tap'
import Fastify from 'fastify'
import easemobCallback, { type CallbackHandlers } from '../index.js'
import {
  build, buildLogged, type ErrorReply, LEVEL, logCapture, NOW, post, sample, SECRET, signed
} from './helpers/callbacks.js'

const TXT = sample('post_chat_txt')
const TXT_TEXT = 'hello bob, lunch at noon?'

interface FailureCase {
  name: string
  /** Which of the three handlers of a txt callback fails, and how. */
  failing: 'txt' | 'message' | '*'
  mode: 'sync' | 'async' | 'async-after-sync'
}

const FAILURES: FailureCase[] = [
  { name: 'a sync throw in the kind handler', failing: 'txt', mode: 'sync' },
  { name: 'an async rejection in the kind handler', failing: 'txt', mode: 'async' },
  { name: 'a sync throw in the message handler', failing: 'message', mode: 'sync' },
  { name: 'an async rejection in the message handler', failing: 'message', mode: 'async' },
  { name: 'a sync throw in * after an async handler', failing: '*', mode: 'async-after-sync' },
  { name: 'an async rejection in *', failing: '*', mode: 'async' }
]

const ORDER = ['txt', 'message', '*'] as const

for (const c of FAILURES) {
  t.test(`${c.name}: 500 FST_ERR_EASEMOB_HANDLER_FAILED, later handlers skipped`, async t => {
    const ran: string[] = []
    const secretMessage = `boom: ${TXT_TEXT} password=hunter2`
    const make = (name: typeof ORDER[number]) => {
      if (name === c.failing) {
        if (c.mode === 'sync' || c.mode === 'async-after-sync') return () => { ran.push(name); throw new Error(secretMessage) }
        return async () => { ran.push(name); await Promise.resolve(); throw new Error(secretMessage) }
      }
      // With async-after-sync the handlers before the failing one are async, so the failure happens
      // on the promise path of the dispatcher.
      if (c.mode === 'async-after-sync') return async () => { ran.push(name) }
      return () => { ran.push(name) }
    }
    const handlers: CallbackHandlers = { txt: make('txt'), message: make('message'), '*': make('*') }
    const { app, logs } = await buildLogged({ handlers })
    t.teardown(() => app.close())
    const res = await post(app, signed(TXT))
    t.equal(res.statusCode, 500)
    const reply = res.json<ErrorReply>()
    t.same(Object.keys(reply).sort(), ['code', 'error', 'message', 'statusCode'])
    t.equal(reply.code, 'FST_ERR_EASEMOB_HANDLER_FAILED')
    t.equal(reply.error, 'Internal Server Error')
    t.match(reply.message, c.failing, 'the message names the failing handler')
    t.notMatch(res.body, 'boom', 'the reply does not contain the thrown message')
    t.notMatch(res.body, 'hunter2')
    t.notMatch(res.body, TXT_TEXT)
    t.notMatch(res.body, SECRET)
    t.ok(res.body.length < 1000)
    t.same(ran, ORDER.slice(0, ORDER.indexOf(c.failing) + 1), 'handlers after the failing one did not run')

    const errors = logs.lines.filter(line => line.level === LEVEL.error)
    t.ok(errors.length >= 1, 'logged at error level')
    const line = errors.find(line => line.msg === 'easemob callback failed')
    t.ok(line, 'the plugin\'s error line')
    t.equal(line?.callId, TXT.callId, 'carries the callId')
    t.equal(line?.kind, 'txt')
    t.equal(line?.outcome, 'failed')
    t.equal(line?.statusCode, 500)
    const info = logs.lines.filter(line => line.level === LEVEL.info && line.callId !== undefined)
    t.same(info, [], 'no success line for a failed callback')
  })
}

t.test('a handler that throws a non-Error value is still a 500 of ours', async t => {
  const app = await build({ handlers: { txt: () => { throw 'a string' as unknown as Error } } })
  t.teardown(() => app.close())
  const res = await post(app, signed(TXT))
  t.equal(res.statusCode, 500)
  t.equal(res.json<ErrorReply>().code, 'FST_ERR_EASEMOB_HANDLER_FAILED')
  t.notMatch(res.body, 'a string')
})

t.test('a handler error carrying its own statusCode and code still answers 500 of ours', async t => {
  const error = Object.assign(new Error('not found in db'), { statusCode: 404, code: 'FST_ERR_USER_THING' })
  const app = await build({ handlers: { txt: () => { throw error } } })
  t.teardown(() => app.close())
  const res = await post(app, signed(TXT))
  t.equal(res.statusCode, 500, 'Easemob must retry: a handler failure is always 500')
  t.equal(res.json<ErrorReply>().code, 'FST_ERR_EASEMOB_HANDLER_FAILED')
  t.notMatch(res.body, 'not found in db')
})

t.test('success: {"status":"ok"}, short, JSON', async t => {
  const app = await build({ handlers: { txt: () => 'ignored return value' } })
  t.teardown(() => app.close())
  const res = await post(app, signed(TXT))
  t.equal(res.statusCode, 200)
  t.equal(res.body, '{"status":"ok"}')
  t.match(res.headers['content-type'], /^application\/json/)
  t.ok(res.body.length < 1000)
})

t.test('handlers run in order kind -> message -> *, each awaited before the next', async t => {
  const events: string[] = []
  const app = await build({
    handlers: {
      '*': () => { events.push('* start'); events.push('* end') },
      message: async () => {
        events.push('message start')
        await Promise.resolve()
        await new Promise<void>(resolve => setImmediate(resolve))
        events.push('message end')
      },
      txt: async () => {
        events.push('txt start')
        await Promise.resolve()
        events.push('txt end')
      }
    }
  })
  t.teardown(() => app.close())
  const res = await post(app, signed(TXT))
  t.equal(res.statusCode, 200)
  t.same(events, ['txt start', 'txt end', 'message start', 'message end', '* start', '* end'])
})

t.test('the reply waits for async handlers', async t => {
  let done = false
  const app = await build({ handlers: { '*': async () => { await new Promise<void>(resolve => setImmediate(resolve)); done = true } } })
  t.teardown(() => app.close())
  await post(app, signed(TXT))
  t.equal(done, true)
})

t.test('handlers get a context: the request\'s logger, the attempt, and the request with its headers', async t => {
  let userAgent: string | undefined
  let hasLog = false
  let attempt = 0
  const app = await build({
    handlers: {
      txt: (_event, context) => {
        userAgent = context.request?.headers['user-agent']
        hasLog = context.log === context.request?.log
        attempt = context.attempt
      }
    }
  })
  t.teardown(() => app.close())
  await app.inject({ method: 'POST', url: '/', payload: signed(TXT), headers: { 'content-type': 'application/json', 'user-agent': 'Easemob-Callback/1.0' } })
  t.equal(userAgent, 'Easemob-Callback/1.0')
  t.equal(hasLog, true)
  t.equal(attempt, 1)
})

t.test('logs: exactly one info line per successful callback, with callId, kind and outcome, no content', async t => {
  const logs = logCapture()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, handlers: { txt: () => {} } })
  await app.ready()
  t.teardown(() => app.close())

  const names = ['post_chat_txt', 'post_chat_combine', 'post_group_info', 'post_moderation', 'post_sensitive_word']
  for (const name of names) t.equal((await post(app, signed(sample(name)))).statusCode, 200, name)

  const ours = logs.lines.filter(line => line.msg === 'easemob callback')
  t.equal(ours.length, names.length, 'one plugin line per callback')
  for (const [i, name] of names.entries()) {
    const line = ours[i]
    t.equal(line.level, LEVEL.info)
    t.equal(line.callId, sample(name).callId, `${name}: callId`)
    t.type(line.kind, 'string')
    t.equal(line.outcome, 'dispatched')
    t.equal(line.statusCode, 200)
  }
  t.same(ours.map(line => line.kind), ['txt', 'combine', 'group_op', 'moderation', 'keyword_alert'])
  // Fastify's own request lines (incoming request / request completed) carry no callId: the
  // callback's single line is the plugin's.
  const withCallId = logs.lines.filter(line => line.callId !== undefined)
  t.equal(withCallId.length, names.length, 'exactly one line per callback names its callId')

  const text = logs.text()
  t.notMatch(text, TXT_TEXT, 'the txt message text is not logged')
  t.notMatch(text, 'are we shipping today', 'the combine summary is not logged')
  t.notMatch(text, 'design team', 'the group description is not logged')
  const moderation = sample('post_moderation')
  if (typeof moderation.msg === 'string' && moderation.msg.length > 0) t.notMatch(text, moderation.msg, 'the moderated text is not logged')
  t.notMatch(text, SECRET, 'the secret is never logged')
})

t.test('logs: duplicates and unknown callbacks are info lines with their outcome and reason', async t => {
  const { app, logs } = await buildLogged()
  t.teardown(() => app.close())
  const payload = signed(TXT)
  await post(app, payload)
  await post(app, payload)
  const unknownBody = structuredClone(TXT)
  ;(unknownBody.payload as { bodies: Array<Record<string, unknown>> }).bodies[0].type = 'translation'
  await post(app, signed({ ...unknownBody, callId: 'u-1' }))
  const ours = logs.lines.filter(line => line.msg === 'easemob callback')
  t.same(ours.map(line => [line.level, line.outcome, line.kind]), [
    [LEVEL.info, 'dispatched', 'txt'],
    [LEVEL.info, 'duplicate', 'txt'],
    [LEVEL.info, 'dispatched', 'unknown']
  ])
  t.type(ours[2].reason, 'string', 'why it is unknown')
  t.notMatch(logs.text(), TXT_TEXT)
})

t.test('the service\'s log sink logs content only at debug', async t => {
  const { sinkHandlers } = await import('../service/app.js')
  const { loadConfig } = await import('../service/config.js')
  const defaultHandlers = sinkHandlers(loadConfig({ EASEMOB_SECRETS: SECRET, SINKS: 'log' }))
  const info = await buildLogged({ handlers: defaultHandlers })
  t.teardown(() => info.app.close())
  await post(info.app, signed(TXT))
  t.notMatch(info.logs.text(), TXT_TEXT, 'not at info')

  const debug = await buildLogged({ handlers: defaultHandlers }, {}, 'debug')
  t.teardown(() => debug.app.close())
  await post(debug.app, signed(TXT))
  const content = debug.logs.lines.find(line => line.msg === 'easemob callback content')
  t.ok(content, 'at debug the content is there')
  t.equal(content?.level, LEVEL.debug)
  t.match(debug.logs.text(), TXT_TEXT)
})

t.test('handlers that never settle: 503 at handlerTimeoutMs, and Easemob\'s retry is dispatched again', async t => {
  let calls = 0
  const { app, logs } = await buildLogged({ handlerTimeoutMs: 50, handlers: { txt: async () => { calls++; if (calls === 1) await new Promise(() => {}) } } })
  t.teardown(() => app.close())
  const first = await post(app, signed(TXT))
  t.equal(first.statusCode, 503)
  t.equal(first.json<ErrorReply>().code, 'FST_ERR_EASEMOB_HANDLER_TIMEOUT')
  const retry = await post(app, signed(TXT))
  t.same(retry.json(), { status: 'ok' }, 'the callId was released: the retry is taken')
  t.equal(calls, 2)
  t.same(logs.lines.filter(line => line.callId === TXT.callId).map(line => [line.level, line.outcome]), [[LEVEL.error, 'failed'], [LEVEL.info, 'dispatched']])
})

t.test('a handler that fails after its budget: the retry was taken, and the late failure is logged', async t => {
  let release: () => void = () => {}
  const late = new Promise<void>(resolve => { release = resolve })
  let calls = 0
  const { app, logs } = await buildLogged({
    handlerTimeoutMs: 50,
    handlers: { txt: async () => { calls++; if (calls === 1) { await late; throw new Error('too late') } } }
  })
  t.teardown(() => app.close())
  t.equal((await post(app, signed(TXT))).statusCode, 503)
  t.same((await post(app, signed(TXT))).json(), { status: 'ok' }, 'the retry is dispatched, not answered duplicate')
  release()
  while (!logs.lines.some(line => line.msg === 'easemob handlers failed after their budget')) await new Promise(resolve => setImmediate(resolve))
  t.match(logs.lines.find(line => line.msg === 'easemob handlers failed after their budget'), { level: LEVEL.error, callId: TXT.callId })
})
