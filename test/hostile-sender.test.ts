// A hostile sender against the real service over HTTP: it holds one captured, signed callback and
// replays it with fields the signature does not cover. What it can still make the service do is
// bounded; these tests pin the bounds down.
import t from 'tap'
import { signCallback } from '../index.js'
import { sample } from './helpers/callbacks.js'
import { postJson, startService } from './helpers/service-process.js'

/** A chat_offline callback as captured off the wire: signed with the test secret, fresh. */
function captured (callId: string, timestamp = Date.now()): Record<string, unknown> {
  return signCallback({ ...sample('post_chat_offline_img'), callId }, 'test-secret', timestamp)
}

function outcomes (lines: Array<Record<string, unknown>>, callId: string): string[] {
  return lines.filter(line => line.callId === callId).map(line => String(line.outcome))
}

t.test('a chat_offline callback replayed with forged `to` values is dispatched a bounded number of times', async t => {
  const service = await startService(t, { EASEMOB_OFFLINE_FAN_OUT_LIMIT: '5' })
  const callId = 'acme#chat_1392847561029384757'
  const original = captured(callId)
  t.same((await postJson(service.url, JSON.stringify(original))).body, { status: 'ok' }, 'the real callback is taken')

  const notUserIds = ['x'.repeat(65), 'carol@example.com', 'bob dylan', '<script>', '管理员', 'a\u0000b']
  const forged = []
  for (let i = 0; i < 40; i++) forged.push((await postJson(service.url, JSON.stringify({ ...original, to: `${notUserIds[i % notUserIds.length]}${i}` }))).body.status)
  t.ok(forged.filter(status => status === 'ok').length <= 1, `a \`to\` that cannot be a user ID opens no key of its own: ${forged.join(',')}`)

  const members = []
  for (let i = 0; i < 40; i++) members.push((await postJson(service.url, JSON.stringify({ ...original, to: `member_${i}` }))).body.status)
  t.equal(members.filter(status => status === 'ok').length, 4, 'user-ID-like values open keys up to the fan-out cap (5, one used by the original)')
  t.ok(members.slice(4).every(status => status === 'duplicate'), 'and no more')
})

t.test('replays with huge `to` values do not grow the memory or slow the service down', async t => {
  const service = await startService(t)
  const original = captured('acme#chat_1392847561029384758')
  await postJson(service.url, JSON.stringify(original))
  const huge = 'u'.repeat(200_000)
  // Warm up with a few large bodies first, so that the heap has grown to its working size.
  for (let i = 0; i < 20; i++) await postJson(service.url, JSON.stringify({ ...original, to: `${huge}${i}` }))
  const before = service.rssMb()
  const statuses = new Map<string, number>()
  for (let i = 20; i < 800; i++) {
    const { status, body } = await postJson(service.url, JSON.stringify({ ...original, to: `${huge}${i}` }))
    const key = `${status} ${String(body.status)}`
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
  }
  const grown = service.rssMb() - before
  t.same([...statuses], [['200 duplicate', 780]], 'every replay is a duplicate')
  t.ok(grown < 60, `resident memory grew by ${grown.toFixed(1)} MB over 780 replays of 200 KB (each kept would be 150 MB)`)
  const fresh = captured('acme#chat_1392847561029384759')
  t.same((await postJson(service.url, JSON.stringify({ ...fresh, eventType: 'chat' }))).body, { status: 'ok' }, 'a normal callback is still taken')
})

t.test('one captured stale callback, resent with other payloads, reaches the quarantine once', async t => {
  const service = await startService(t)
  const callId = 'acme#chat_1392847561029384760'
  const stale = captured(callId, Date.now() - 10 * 60_000)
  const answers = []
  for (const msg of ['first', 'forged', 'forged again']) {
    const body = structuredClone(stale) as { payload: { bodies: Array<Record<string, unknown>> } }
    body.payload.bodies[0] = { type: 'txt', msg }
    answers.push((await postJson(service.url, JSON.stringify(body))).body.status)
  }
  t.same(answers, ['stale', 'duplicate', 'duplicate'])
  await t.resolves(waitFor(() => outcomes(service.lines(), callId).length === 3), 'three log lines')
  t.same(outcomes(service.lines(), callId), ['stale', 'duplicate', 'duplicate'])
})

/** Polls `condition` until it holds; log lines leave the service asynchronously. */
async function waitFor (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise(resolve => setImmediate(resolve))
  while (!condition()) await new Promise(resolve => setTimeout(resolve, 10))
}
