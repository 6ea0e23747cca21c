import Fastify from 'fastify'
import { Writable } from 'node:stream'
import t from 'tap'
import easemobCallback, { type EasemobCallbackOptions } from '../index.js'
import type { PreSendDecision, PreSendMessage } from '../src/schemas/pre-send.js'
import { build, NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'

type Sample = ReturnType<typeof sample>

const FLAT_BODIES: Record<string, Record<string, unknown>> = {
  txt: { type: 'txt', msg: 'is the build green?' },
  img: sample('pre_send_group_img').payload as Record<string, unknown>,
  audio: { type: 'audio', url: 'https://a1.easemob.com/o/a/chatfiles/1', filename: 'v.amr', length: 3, file_length: 2048 },
  video: { type: 'video', url: 'https://a1.easemob.com/o/a/chatfiles/2', filename: 'v.mp4', length: 9, file_length: 90210, thumb: 'https://a1.easemob.com/o/a/chatfiles/3', thumb_secret: 's', size: { width: 320, height: 240 } },
  file: { type: 'file', url: 'https://a1.easemob.com/o/a/chatfiles/4', filename: 'plan.pdf', file_length: 4096 },
  loc: { type: 'loc', lat: 39.9, lng: 116.4, addr: 'Beijing' },
  cmd: { type: 'cmd', action: 'typing' },
  custom: sample('pre_send_chatroom_custom').payload as Record<string, unknown>,
  combine: sample('pre_send_combine').payload as Record<string, unknown>
}

function preSendRequest (payload: unknown, fields: Record<string, unknown> = {}): Sample {
  return { ...sample('pre_send_txt'), payload, ...fields }
}

function logCapture (): { stream: Writable, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    }
  })
  return { stream, lines }
}

async function buildLogged (options: EasemobCallbackOptions) {
  const logs = logCapture()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, ...options })
  await app.ready()
  return { app, lines: logs.lines }
}

t.test('every message type reaches preSend in both payload forms, with its kind', async t => {
  const seen: PreSendMessage[] = []
  const app = await build({ preSend: message => { seen.push(message); return { valid: true } } })
  t.teardown(() => app.close())
  for (const [kind, body] of Object.entries(FLAT_BODIES)) {
    const flat = await post(app, signed(preSendRequest(body), { callId: `flat-${kind}` }), '/pre-send')
    t.equal(flat.statusCode, 200, `flat ${kind}`)
    t.equal(flat.body, '{"valid":true}')
    t.equal(seen.at(-1)?.kind, kind, `flat ${kind} kind`)
    t.same(seen.at(-1)?.payload, body, `flat ${kind} payload intact`)

    const bodies = { ext: { em_ignore_notification: true }, bodies: [body] }
    const wrapped = await post(app, signed(preSendRequest(bodies), { callId: `bodies-${kind}` }), '/pre-send')
    t.equal(wrapped.statusCode, 200, `bodies ${kind}`)
    t.equal(seen.at(-1)?.kind, kind, `bodies ${kind} kind`)
    t.same(seen.at(-1)?.payload, bodies, `bodies ${kind} payload intact`)
  }
  const unknown = await post(app, signed(preSendRequest({ type: 'translation', text: 'x' }), { callId: 'unknown-type' }), '/pre-send')
  t.equal(unknown.statusCode, 200)
  t.equal(seen.at(-1)?.kind, 'unknown', 'an unknown body type still reaches the policy')
})

t.test('every chat_type spelling is accepted', async t => {
  const seen: string[] = []
  const app = await build({ preSend: message => { seen.push(message.chat_type); return { valid: true } } })
  t.teardown(() => app.close())
  for (const chatType of ['chat', 'groupchat', 'group', 'chatroom']) {
    const response = await post(app, signed(preSendRequest(FLAT_BODIES.txt, { chat_type: chatType }), { callId: `ct-${chatType}` }), '/pre-send')
    t.equal(response.body, '{"valid":true}', chatType)
  }
  t.same(seen, ['chat', 'groupchat', 'group', 'chatroom'])
})

t.test('decisions become Easemob replies with its fields and nothing else', async t => {
  const decisions: Record<string, PreSendDecision & Record<string, unknown>> = {
    pass: { valid: true },
    block: { valid: false, code: 'HX:10001', rule: 'no-spam' },
    blockEmptyCode: { valid: false, code: '' },
    rewrite: { valid: true, code: 'HX:10000', payload: { msg: 'is the build *****?', type: 'txt' } },
    level: { valid: true, chatroom_msg_level: 'low', extra: 'never sent' }
  }
  const app = await build({ preSend: message => decisions[message.msg_id as string] })
  t.teardown(() => app.close())
  const expected: Record<string, unknown> = {
    pass: { valid: true },
    block: { valid: false, code: 'HX:10001' },
    blockEmptyCode: { valid: false, code: '' },
    rewrite: { valid: true, code: 'HX:10000', payload: { msg: 'is the build *****?', type: 'txt' } },
    level: { valid: true, chatroom_msg_level: 'low' }
  }
  for (const name of Object.keys(decisions)) {
    const response = await post(app, signed(preSendRequest(FLAT_BODIES.txt, { msg_id: name }), { callId: name }), '/pre-send')
    t.equal(response.statusCode, 200, name)
    t.match(response.headers['content-type'], /^application\/json/)
    t.same(JSON.parse(response.body), expected[name], name)
  }
})

t.test('an unsendable decision is replaced by the fallback and logged', async t => {
  const decisions: Record<string, unknown> = {
    notBoolean: { valid: 'yes' },
    badLevel: { valid: true, chatroom_msg_level: 'urgent' },
    tooLong: { valid: true, payload: { msg: 'x'.repeat(1000), type: 'txt' } },
    nothing: undefined
  }
  const { app, lines } = await buildLogged({ preSend: message => decisions[message.msg_id as string] as PreSendDecision })
  t.teardown(() => app.close())
  for (const name of Object.keys(decisions)) {
    const response = await post(app, signed(preSendRequest(FLAT_BODIES.txt, { msg_id: name }), { callId: name }), '/pre-send')
    t.equal(response.body, '{"valid":true}', `${name}: fallback pass`)
    const line = lines.find(entry => entry.callId === name && entry.outcome !== undefined)
    t.equal(line?.outcome, 'fallback', `${name}: logged as fallback`)
    t.type(line?.reason, 'string')
  }
  t.match(lines.find(entry => entry.callId === 'tooLong')?.reason, /1000/)
})

t.test('a reply of exactly 1000 characters is sent', async t => {
  const base = JSON.stringify({ valid: true, payload: { msg: '', type: 'txt' } }).length
  const app = await build({ preSend: () => ({ valid: true, payload: { msg: 'y'.repeat(1000 - base), type: 'txt' } }) })
  t.teardown(() => app.close())
  const response = await post(app, signed(preSendRequest(FLAT_BODIES.txt)), '/pre-send')
  t.equal(response.body.length, 1000)
  t.equal(JSON.parse(response.body).valid, true)
})

t.test('a policy that misses the budget gets the fallback at once; its late result is logged and dropped', async t => {
  let release: (decision: PreSendDecision) => void = () => {}
  const late = new Promise<PreSendDecision>(resolve => { release = resolve })
  const { app, lines } = await buildLogged({ preSendBudgetMs: 20, preSendFallback: 'block', preSend: () => late })
  t.teardown(() => app.close())
  const response = await post(app, signed(preSendRequest(FLAT_BODIES.txt), { callId: 'slow' }), '/pre-send')
  t.equal(response.body, '{"valid":false}', 'the fallback (block) was sent')
  t.match(lines.find(entry => entry.callId === 'slow' && entry.outcome !== undefined), { outcome: 'fallback', reason: /20 ms/ })
  const logged = new Promise<void>(resolve => {
    const check = setInterval(() => {
      if (lines.some(entry => entry.msg === 'pre-send decision arrived after the budget and was dropped')) { clearInterval(check); resolve() }
    }, 1)
  })
  release({ valid: true })
  await logged
  t.pass('the late decision was logged')
})

t.test('a policy that throws, sync or async, gets the fallback and an error log', async t => {
  const { app, lines } = await buildLogged({
    preSend: message => {
      if (message.msg_id === 'sync') throw new Error('policy exploded')
      return Promise.reject(new Error('policy exploded later'))
    }
  })
  t.teardown(() => app.close())
  for (const name of ['sync', 'async']) {
    const response = await post(app, signed(preSendRequest(FLAT_BODIES.txt, { msg_id: name }), { callId: name }), '/pre-send')
    t.equal(response.statusCode, 200)
    t.equal(response.body, '{"valid":true}')
    t.ok(lines.some(entry => entry.callId === name && entry.level === 50 && entry.msg === 'pre-send policy threw; fallback sent'), `${name} logged`)
  }
})

t.test('a replayed callId gets the first decision and the policy runs once', async t => {
  let calls = 0
  const app = await build({ preSend: async () => ({ valid: ++calls === 1 ? false : true, code: `call ${calls}` }) })
  t.teardown(() => app.close())
  const payload = signed(preSendRequest(FLAT_BODIES.txt), { callId: 'replayed' })
  const [first, concurrent] = await Promise.all([post(app, payload, '/pre-send'), post(app, payload, '/pre-send')])
  const later = await post(app, payload, '/pre-send')
  t.equal(first.body, '{"valid":false,"code":"call 1"}')
  t.equal(concurrent.body, first.body)
  t.equal(later.body, first.body)
  t.equal(calls, 1)
})

t.test('signature failures are 401 and the policy is not asked', async t => {
  let calls = 0
  const app = await build({ preSend: () => { calls++; return { valid: true } } })
  t.teardown(() => app.close())
  const wrong = await post(app, signed(preSendRequest(FLAT_BODIES.txt), { secret: 'other' }), '/pre-send')
  t.equal(wrong.statusCode, 401)
  t.equal(JSON.parse(wrong.body).code, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')
  const unsigned = JSON.stringify({ ...preSendRequest(FLAT_BODIES.txt), security: undefined, timestamp: NOW })
  t.equal((await post(app, unsigned, '/pre-send')).statusCode, 401)
  t.equal(calls, 0)
})

t.test('stale and malformed pre-send requests get the fallback without asking the policy', async t => {
  let calls = 0
  const { app, lines } = await buildLogged({ preSend: () => { calls++; return { valid: false } } })
  t.teardown(() => app.close())
  const stale = await post(app, signed(preSendRequest(FLAT_BODIES.txt), { callId: 'old', timestamp: NOW - 3_600_000 }), '/pre-send')
  t.equal(stale.body, '{"valid":true}')
  const noFrom = { ...preSendRequest(FLAT_BODIES.txt) } as Record<string, unknown>
  delete noFrom.from
  const malformed = await post(app, signed(noFrom as Sample, { callId: 'no-from' }), '/pre-send')
  t.equal(malformed.body, '{"valid":true}')
  t.equal(calls, 0)
  t.match(lines.find(entry => entry.callId === 'old' && entry.outcome !== undefined), { outcome: 'fallback', reason: 'stale' })
  t.match(lines.find(entry => entry.callId === 'no-from' && entry.outcome !== undefined), { outcome: 'fallback', reason: /from/ })
})

t.test('each decision is logged with callId, rule and verdict but no message content', async t => {
  const { app, lines } = await buildLogged({ preSend: () => ({ valid: false, code: 'HX:1', rule: 'no-secrets' }) })
  t.teardown(() => app.close())
  await post(app, signed(preSendRequest({ type: 'txt', msg: 'my password is hunter2' }), { callId: 'logged' }), '/pre-send')
  const line = lines.find(entry => entry.callId === 'logged')
  t.match(line, { kind: 'pre-send:txt', outcome: 'block', rule: 'no-secrets', statusCode: 200 })
  t.notOk(JSON.stringify(lines).includes('hunter2'), 'no message text in info logs')
})

t.test('without preSend there is no pre-send route; a bad fallback fails at start', async t => {
  const app = await build()
  t.teardown(() => app.close())
  t.equal((await post(app, signed(preSendRequest(FLAT_BODIES.txt)), '/pre-send')).statusCode, 404)
  const bad = Fastify()
  await t.rejects(async () => {
    await bad.register(easemobCallback, { secrets: [SECRET], preSend: () => ({ valid: true }), preSendFallback: { valid: true, chatroom_msg_level: 'urgent' } as never })
    await bad.ready()
  }, { code: 'FST_ERR_EASEMOB_BAD_OPTION', message: /preSendFallback/ })
})

t.test('an ext that is not an object does not skip moderation, in either payload form', async t => {
  const asked: PreSendMessage[] = []
  const app = await build({ preSend: message => { asked.push(message); return { valid: false, code: 'no' } } })
  t.teardown(() => app.close())
  for (const [index, ext] of [true, 'text', 42, null, ['a']].entries()) {
    const body = preSendRequest({ ext, bodies: [{ type: 'txt', msg: 'hi' }] }, { callId: `ext-${index}` })
    const res = await post(app, signed(body), '/pre-send')
    t.same(res.json(), { valid: false, code: 'no' }, `ext ${JSON.stringify(ext)}: the policy decided`)
  }
  t.equal(asked.length, 5)
  t.ok(asked.every(message => message.kind === 'txt'))
})
