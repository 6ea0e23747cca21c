// Requests that are not a callback at all: each gets its own status and code, a short JSON error
// body, and reaches no handler.
import t from 'tap'
import {
  build, buildLogged, type ErrorReply, LEVEL, NOW, post, recorder, sample, signed, signedBody
} from './helpers/callbacks.js'

interface Case {
  name: string
  payload: string | undefined
  contentType?: string | null
  statusCode: number
  code: string
  /** What the message must mention (the field or problem), when it says more than the code. */
  message?: RegExp
  bodyLimit?: number
}

const txt = (): string => signed(sample('post_chat_txt'))
const without = (field: string): string => {
  const body: Record<string, unknown> = signedBody(sample('post_chat_txt'))
  delete body[field]
  return JSON.stringify(body)
}
const withField = (field: string, value: unknown): string =>
  JSON.stringify({ ...signedBody(sample('post_chat_txt')), [field]: value })
/** A signed body with `extra` spliced in as raw JSON text right after the opening brace. */
const spliced = (extra: string): string => txt().replace(/^\{/, `{${extra},`)

const CASES: Case[] = [
  { name: 'broken JSON', payload: '{"callId":"x","timestamp":', statusCode: 400, code: 'FST_ERR_EASEMOB_BAD_JSON', message: /not valid JSON/ },
  { name: 'truncated signed body', payload: txt().slice(0, -10), statusCode: 400, code: 'FST_ERR_EASEMOB_BAD_JSON' },
  { name: 'trailing garbage', payload: `${txt()}}`, statusCode: 400, code: 'FST_ERR_EASEMOB_BAD_JSON' },
  { name: 'empty body', payload: '', statusCode: 400, code: 'FST_ERR_EASEMOB_EMPTY_BODY', message: /empty/ },
  { name: 'text/plain', payload: txt(), contentType: 'text/plain', statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'form-encoded', payload: 'callId=x&timestamp=1', contentType: 'application/x-www-form-urlencoded', statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'no content type', payload: txt(), contentType: null, statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'missing callId', payload: without('callId'), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /callId/ },
  { name: 'empty callId', payload: withField('callId', ''), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /callId/ },
  { name: 'callId a number', payload: withField('callId', 123), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /callId/ },
  { name: 'missing timestamp', payload: without('timestamp'), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /timestamp/ },
  { name: 'timestamp not a number', payload: withField('timestamp', 'yesterday'), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /timestamp/ },
  { name: 'timestamp a fraction', payload: withField('timestamp', NOW + 0.5), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /timestamp/ },
  { name: 'timestamp negative', payload: withField('timestamp', -1), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /timestamp/ },
  { name: 'timestamp an object', payload: withField('timestamp', { ms: NOW }), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /timestamp/ },
  { name: 'security a number', payload: withField('security', 12345), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /security/ },
  { name: 'body over the default bodyLimit (256 KiB)', payload: spliced(`"pad":"${'x'.repeat(262_144)}"`), statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  { name: 'body over a configured bodyLimit', payload: spliced(`"pad":"${'x'.repeat(2048)}"`), bodyLimit: 2048, statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  { name: '__proto__ key at the top', payload: spliced('"__proto__":{"polluted":true}'), statusCode: 400, code: 'FST_ERR_EASEMOB_PROTO_POISONING', message: /__proto__/ },
  { name: '__proto__ key nested in payload.ext', payload: txt().replace('"ext":{', '"ext":{"__proto__":{"polluted":true},'), statusCode: 400, code: 'FST_ERR_EASEMOB_PROTO_POISONING' },
  { name: '__proto__ written with unicode escapes', payload: spliced('"\\u005f\\u005fproto__":{"polluted":true}'), statusCode: 400, code: 'FST_ERR_EASEMOB_PROTO_POISONING' },
  { name: 'constructor.prototype', payload: spliced('"constructor":{"prototype":{"polluted":true}}'), statusCode: 400, code: 'FST_ERR_EASEMOB_PROTO_POISONING', message: /constructor/ },
  { name: 'a JSON array', payload: JSON.stringify([signedBody(sample('post_chat_txt'))]), statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /object/ },
  { name: 'an empty JSON array', payload: '[]', statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE' },
  { name: 'JSON null', payload: 'null', statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE' },
  { name: 'a JSON string', payload: '"callId"', statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE' },
  { name: 'a JSON number', payload: '1800000000000', statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE' },
  { name: 'an empty object', payload: '{}', statusCode: 400, code: 'FST_ERR_EASEMOB_INVALID_ENVELOPE', message: /callId/ }
]

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 413: 'Payload Too Large', 415: 'Unsupported Media Type' }

for (const c of CASES) {
  t.test(`${c.name} -> ${c.statusCode} ${c.code}`, async t => {
    const rec = recorder()
    let stale = 0
    const app = await build({ handlers: rec.handlers, onStale: () => { stale++ }, ...(c.bodyLimit === undefined ? {} : { bodyLimit: c.bodyLimit }) })
    t.teardown(() => app.close())
    const headers: Record<string, string> = c.contentType === null ? {} : { 'content-type': c.contentType ?? 'application/json' }
    const res = await app.inject({ method: 'POST', url: '/', payload: c.payload, headers })
    t.equal(res.statusCode, c.statusCode, 'status')
    t.match(res.headers['content-type'], /^application\/json/, 'JSON error body')
    const reply = res.json<ErrorReply>()
    t.same(Object.keys(reply).sort(), ['code', 'error', 'message', 'statusCode'], 'exactly {statusCode, code, error, message}')
    t.equal(reply.statusCode, c.statusCode)
    t.equal(reply.code, c.code)
    t.equal(reply.error, STATUS_TEXT[c.statusCode])
    t.type(reply.message, 'string')
    if (c.message !== undefined) t.match(reply.message, c.message, 'the message names the problem')
    t.ok(res.body.length < 1000, `reply under 1000 characters (${res.body.length})`)
    t.notMatch(res.body, 'hello bob', 'the message text is not echoed back')
    t.same(rec.calls, [], 'no handler ran')
    t.equal(stale, 0, 'onStale did not run')
  })
}

t.test('control: the same body as a proper callback is accepted, also with a charset', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  t.equal((await post(app, signed(sample('post_chat_txt'), { callId: 'ok-1' }))).statusCode, 200)
  t.equal((await post(app, signed(sample('post_chat_txt'), { callId: 'ok-2' }), '/', 'application/json; charset=UTF-8')).statusCode, 200)
  t.equal((await post(app, signed(sample('post_chat_txt'), { callId: 'ok-3' }), '/', 'application/json;charset=utf-8')).statusCode, 200)
  t.equal((await post(app, signed(sample('post_chat_txt'), { callId: 'ok-3b' }), '/', 'Application/JSON')).statusCode, 200, 'media type is case-insensitive')
  // A key merely named `constructor` (no `prototype` inside) is not poisoning.
  const named = signed({ ...sample('post_chat_txt'), callId: 'ok-4', extra: { constructor: 'Foo', proto: 1 } })
  t.equal((await post(app, named)).statusCode, 200)
  // Exactly at the body limit is fine.
  const body = signed(sample('post_chat_txt'), { callId: 'ok-5' })
  const limited = await build({ bodyLimit: Buffer.byteLength(body), handlers: rec.handlers })
  t.teardown(() => limited.close())
  t.equal((await post(limited, body)).statusCode, 200, 'a body exactly bodyLimit bytes long')
  t.same(rec.calls.map(call => call.event.callId), ['ok-1', 'ok-2', 'ok-3', 'ok-3b', 'ok-4', 'ok-5'])
})

t.test('__proto__ in a body never pollutes Object.prototype', async t => {
  const app = await build()
  t.teardown(() => app.close())
  await post(app, spliced('"__proto__":{"pollutedByTest":true}'))
  await post(app, spliced('"constructor":{"prototype":{"pollutedByTest":true}}'))
  t.equal(({} as Record<string, unknown>).pollutedByTest, undefined)
})

t.test('only POST / exists', async t => {
  const app = await build()
  t.teardown(() => app.close())
  const get = await app.inject({ method: 'GET', url: '/' })
  t.equal(get.statusCode, 404)
  const put = await app.inject({ method: 'PUT', url: '/', payload: txt(), headers: { 'content-type': 'application/json' } })
  t.equal(put.statusCode, 404)
})

t.test('a rejected request is logged once at warn with its code, and the callId when it had one', async t => {
  const { app, logs } = await buildLogged()
  t.teardown(() => app.close())
  await post(app, '{"callId":')
  await post(app, withField('security', '0'.repeat(32)))
  const lines = logs.lines.filter(line => line.msg === 'easemob callback not taken')
  t.equal(lines.length, 2)
  t.equal(lines[0].level, LEVEL.warn)
  t.equal(lines[0].reason, 'FST_ERR_EASEMOB_BAD_JSON')
  t.equal(lines[0].outcome, 'rejected')
  t.equal(lines[1].level, LEVEL.warn)
  t.equal(lines[1].reason, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')
  t.equal(lines[1].callId, sample('post_chat_txt').callId)
  t.equal(lines[1].statusCode, 401)
  t.notMatch(logs.text(), 'hello bob', 'no message text in the logs')
})

t.test('JSON in a charset other than UTF-8 is refused with 415, not read as UTF-8', async t => {
  const rec = recorder(['*'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  for (const charset of ['gbk', 'GB2312', 'iso-8859-1', '"utf-16"']) {
    const res = await post(app, signed(sample('post_chat_txt'), { callId: `cs-${charset}` }), '/', `application/json; charset=${charset}`)
    t.equal(res.statusCode, 415, charset)
    t.equal(res.json<ErrorReply>().code, 'FST_ERR_EASEMOB_UNSUPPORTED_CHARSET')
  }
  t.equal((await post(app, signed(sample('post_chat_txt'), { callId: 'cs-utf8' }), '/', 'application/json; charset="utf8"')).statusCode, 200)
  t.same(rec.calls.map(call => call.event.callId), ['cs-utf8'], 'nothing mangled was dispatched')
})
