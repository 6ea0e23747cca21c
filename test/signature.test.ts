// security = lowercase hex md5(callId + secret + timestamp) (docs/protocol.md#the-signature): what passes and what does not.
import { createHash } from 'node:crypto'
import t from 'tap'
import { checkSecurity, computeSecurity, signCallback } from '../index.js'
import {
  build, type ErrorReply, NOW, post, recorder, sample, sampleNames, SECRET, signed, signedBody
} from './helpers/callbacks.js'

function md5 (text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex')
}

t.test('computeSecurity reproduces every sample\'s own security with test-secret and its original timestamp', async t => {
  for (const name of sampleNames()) {
    const body = sample(name)
    t.type(body.security, 'string', `${name} carries security`)
    t.equal(computeSecurity(body.callId, SECRET, body.timestamp), body.security, name)
    t.equal(md5(`${body.callId}${SECRET}${String(body.timestamp)}`), body.security, `${name}: plain md5 of the concatenation`)
  }
})

t.test('computeSecurity is lowercase hex md5 of callId + secret + timestamp', async t => {
  t.equal(computeSecurity('123', '123456', 0), md5('1231234560'))
  t.match(computeSecurity('a', 'b', 1), /^[0-9a-f]{32}$/)
  t.equal(computeSecurity('id', 's', '42'), computeSecurity('id', 's', 42), 'number and its digits sign alike')
  t.equal(computeSecurity('应用_1', '密钥', 1), md5('应用_1密钥1'), 'UTF-8 bytes')
})

t.test('every sample passes unchanged when the clock is at its own timestamp', async t => {
  for (const name of sampleNames()) {
    const body = sample(name)
    const app = await build({ now: () => Number(body.timestamp) })
    const res = await post(app, JSON.stringify(body))
    t.equal(res.statusCode, 200, name)
    t.same(res.json(), { status: 'ok' }, name)
    await app.close()
  }
})

interface Rejected {
  name: string
  mutate: (body: Record<string, unknown>) => void
  code: string
}

const REJECTED: Rejected[] = [
  { name: 'missing security', mutate: body => { delete body.security }, code: 'FST_ERR_EASEMOB_SIGNATURE_MISSING' },
  { name: 'security not hex', mutate: body => { body.security = 'zz' + String(body.security).slice(2) }, code: 'FST_ERR_EASEMOB_SIGNATURE_MALFORMED' },
  { name: 'security too short', mutate: body => { body.security = String(body.security).slice(1) }, code: 'FST_ERR_EASEMOB_SIGNATURE_MALFORMED' },
  { name: 'security empty', mutate: body => { body.security = '' }, code: 'FST_ERR_EASEMOB_SIGNATURE_MALFORMED' },
  { name: 'security the unhashed concatenation (2017 sample project)', mutate: body => { body.security = `${String(body.callId)}${SECRET}${String(body.timestamp)}` }, code: 'FST_ERR_EASEMOB_SIGNATURE_MALFORMED' },
  { name: 'signed with another secret', mutate: body => { body.security = computeSecurity(String(body.callId), 'wrong-secret', NOW) }, code: 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH' },
  { name: 'callId changed after signing', mutate: body => { body.callId = `${String(body.callId)}x` }, code: 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH' },
  { name: 'timestamp changed after signing', mutate: body => { body.timestamp = NOW - 1 }, code: 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH' },
  { name: 'secret and timestamp swapped', mutate: body => { body.security = md5(`${String(body.callId)}${NOW}${SECRET}`) }, code: 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH' }
]

for (const { name, mutate, code } of REJECTED) {
  t.test(`${name} -> 401 ${code}, nothing dispatched`, async t => {
    const rec = recorder()
    const app = await build({ handlers: rec.handlers })
    t.teardown(() => app.close())
    const body: Record<string, unknown> = signedBody(sample('post_chat_txt'))
    mutate(body)
    const res = await post(app, JSON.stringify(body))
    t.equal(res.statusCode, 401)
    const reply = res.json<ErrorReply>()
    t.same(reply, { statusCode: 401, code, error: 'Unauthorized', message: reply.message })
    t.type(reply.message, 'string')
    t.ok(reply.message.length > 0)
    t.notMatch(res.body, SECRET, 'the reply does not contain the secret')
    t.notMatch(res.body, 'wrong-secret', 'nor any attempted secret')
    t.notMatch(res.body, 'hello bob', 'nor the message')
    t.ok(res.body.length < 1000, 'short reply')
    t.same(rec.calls, [], 'no handler ran')
  })
}

t.test('a rejected callback does not use up its callId: the properly signed one still goes through', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const bad = signedBody(sample('post_chat_txt'), { secret: 'wrong-secret' })
  t.equal((await post(app, JSON.stringify(bad))).statusCode, 401)
  t.equal((await post(app, signed(sample('post_chat_txt')))).statusCode, 200)
  t.equal(rec.calls.length, 1)
})

t.test('uppercase hex security is accepted', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const body = signedBody(sample('post_chat_txt'))
  body.security = body.security.toUpperCase()
  t.match(body.security, /^[0-9A-F]{32}$/)
  const res = await post(app, JSON.stringify(body))
  t.equal(res.statusCode, 200)
  t.equal(rec.calls.length, 1)
  t.equal(rec.calls[0].event.security, body.security, 'the handler sees security as sent')
})

t.test('mixed-case hex security is accepted', async t => {
  const app = await build()
  t.teardown(() => app.close())
  const body = signedBody(sample('post_chat_txt'))
  body.security = [...body.security].map((c, i) => i % 2 === 0 ? c.toUpperCase() : c).join('')
  t.equal((await post(app, JSON.stringify(body))).statusCode, 200)
})

t.test('secret rotation: with secrets [new, old] either signs; a third does not', async t => {
  const rec = recorder(['*'])
  const app = await build({ secrets: ['new-secret', 'old-secret'], handlers: rec.handlers })
  t.teardown(() => app.close())
  const byNew = await post(app, signed(sample('post_chat_txt'), { secret: 'new-secret', callId: 'rot-1' }))
  const byOld = await post(app, signed(sample('post_chat_txt'), { secret: 'old-secret', callId: 'rot-2' }))
  const byThird = await post(app, signed(sample('post_chat_txt'), { secret: 'third-secret', callId: 'rot-3' }))
  const byTest = await post(app, signed(sample('post_chat_txt'), { callId: 'rot-4' }))
  t.equal(byNew.statusCode, 200, 'new secret')
  t.equal(byOld.statusCode, 200, 'old secret')
  t.equal(byThird.statusCode, 401, 'third secret')
  t.equal(byThird.json<ErrorReply>().code, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')
  t.equal(byTest.statusCode, 401, 'a secret no longer configured')
  for (const res of [byThird, byTest]) {
    t.notMatch(res.body, 'new-secret')
    t.notMatch(res.body, 'old-secret')
  }
  t.same(rec.calls.map(call => call.event.callId), ['rot-1', 'rot-2'])
})

t.test('a single secret may be given as a string', async t => {
  const app = await build({ secrets: 'solo' })
  t.teardown(() => app.close())
  t.equal((await post(app, signed(sample('post_chat_txt'), { secret: 'solo' }))).statusCode, 200)
  t.equal((await post(app, signed(sample('post_chat_txt'), { callId: 'other' }))).statusCode, 401)
})

t.test('a timestamp sent as a digit string is signed and verified as that string', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())

  const asString = signedBody(sample('post_chat_txt'), { timestamp: String(NOW), callId: 'ts-1' })
  t.equal(asString.timestamp, String(NOW))
  t.equal((await post(app, JSON.stringify(asString))).statusCode, 200, 'digit string signed as itself')
  t.equal(rec.calls[0].event.timestamp, String(NOW), 'the handler sees the string, not a coerced number')

  // With a leading zero the string and the number differ as text: the string as sent is what counts.
  const padded = `0${NOW}`
  const zero = signedBody(sample('post_chat_txt'), { timestamp: padded, callId: 'ts-2' })
  t.equal(zero.security, md5(`ts-2${SECRET}${padded}`))
  t.equal((await post(app, JSON.stringify(zero))).statusCode, 200, 'signed over the string as sent')

  const byNumber = { ...zero, callId: 'ts-3', security: computeSecurity('ts-3', SECRET, NOW) }
  const res = await post(app, JSON.stringify(byNumber))
  t.equal(res.statusCode, 401, 'signed over the number, sent as a zero-padded string: mismatch')
  t.equal(res.json<ErrorReply>().code, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')

  // A number sent as a number, signed over its decimal digits.
  const asNumber = signCallback({ ...sample('post_chat_txt'), callId: 'ts-4' }, SECRET, NOW)
  t.equal(asNumber.security, md5(`ts-4${SECRET}${NOW}`))
  t.equal((await post(app, JSON.stringify(asNumber))).statusCode, 200)
  t.same(rec.calls.map(call => call.event.callId), ['ts-1', 'ts-2', 'ts-4'])
})

t.test('checkSecurity', async t => {
  const good = computeSecurity('c', 's', 5)
  t.equal(checkSecurity(good, 'c', 5, ['s']), 'ok')
  t.equal(checkSecurity(good.toUpperCase(), 'c', 5, ['s']), 'ok')
  t.equal(checkSecurity(good, 'c', '5', ['x', 's']), 'ok')
  t.equal(checkSecurity(good, 'c', 5, ['x']), 'mismatch')
  t.equal(checkSecurity(good, 'c', 5, []), 'mismatch')
  t.equal(checkSecurity('xyz', 'c', 5, ['s']), 'malformed')
  t.equal(checkSecurity(`${good}00`, 'c', 5, ['s']), 'malformed')
})
