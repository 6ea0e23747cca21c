// Replays and stale callbacks: a callId is dispatched once, except after a failure; callbacks
// outside the freshness window go to onStale only.
import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { type CallbackEvent, MemoryReplayStore, type ReplayStore, type StaleReason } from '../index.js'
import { build, buildLogged, type ErrorReply, LEVEL, NOW, post, recorder, sample, signed } from './helpers/callbacks.js'

interface StaleCall {
  event: CallbackEvent
  request: FastifyRequest
  reason: StaleReason
}

function staleRecorder (): { calls: StaleCall[], onStale: (event: CallbackEvent, request: FastifyRequest, reason: StaleReason) => void } {
  const calls: StaleCall[] = []
  return { calls, onStale: (event, request, reason) => { calls.push({ event, request, reason }) } }
}

t.test('a second post of the same callId is answered duplicate and not dispatched', async t => {
  const rec = recorder(['txt', '*'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_txt'))
  const first = await post(app, payload)
  t.equal(first.statusCode, 200)
  t.same(first.json(), { status: 'ok' })
  const second = await post(app, payload)
  t.equal(second.statusCode, 200, 'a duplicate is still 200, so Easemob does not count a failure')
  t.same(second.json(), { status: 'duplicate' })
  t.equal(second.body, '{"status":"duplicate"}')
  const third = await post(app, signed(sample('post_chat_txt'), { timestamp: NOW - 1000 }))
  t.same(third.json(), { status: 'duplicate' }, 're-signed with another timestamp: same callId, still a duplicate')
  t.same(rec.names(), ['txt', '*'], 'the handlers ran once')
})

t.test('duplicates are per callId: other callIds pass', async t => {
  const rec = recorder(['*'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  for (const callId of ['a', 'b', 'a', 'c', 'b']) await post(app, signed(sample('post_chat_txt'), { callId }))
  t.same(rec.calls.map(call => call.event.callId), ['a', 'b', 'c'])
})

t.test('chat_offline callbacks with the same callId but different `to` are each dispatched', async t => {
  const rec = recorder(['img'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const base = sample('post_chat_offline_img')
  t.equal(base.eventType, 'chat_offline')
  const results = []
  for (const to of ['carol', 'dave', 'erin', 'dave']) {
    const res = await post(app, signed({ ...base, to }))
    results.push(res.json<{ status: string }>().status)
  }
  t.same(results, ['ok', 'ok', 'ok', 'duplicate'], 'one per offline member; the same member twice is a duplicate')
  t.same(rec.calls.map(call => (call.event as { to: string }).to), ['carol', 'dave', 'erin'])
})

t.test('eventType chat with the same callId and a different `to` is a duplicate', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const base = sample('post_groupchat_txt')
  t.equal(base.eventType, 'chat')
  t.same((await post(app, signed(base))).json(), { status: 'ok' })
  t.same((await post(app, signed({ ...base, to: 'someone-else' }))).json(), { status: 'duplicate' })
  t.equal(rec.calls.length, 1)
})

t.test('two concurrent posts of one callId: exactly one is dispatched', async t => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let runs = 0
  const app = await build({ handlers: { txt: async () => { runs++; await gate } } })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_txt'))
  const both = [post(app, payload), post(app, payload)]
  // Whichever claims the callId second is answered while the winner's handler is still running.
  const loser = await Promise.race(both)
  t.same(loser.json(), { status: 'duplicate' }, 'answered duplicate without waiting for the first')
  release()
  const statuses = (await Promise.all(both)).map(res => res.json<{ status: string }>().status).sort()
  t.same(statuses, ['duplicate', 'ok'])
  t.equal(runs, 1)
})

t.test('a callback older than maxAgeMs: 200 stale, only onStale runs', async t => {
  const rec = recorder()
  const stale = staleRecorder()
  const app = await build({ handlers: rec.handlers, onStale: stale.onStale })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_txt'), { timestamp: NOW - 300_001 })
  const res = await post(app, payload)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'stale' })
  t.same(rec.calls, [], 'no handler ran')
  t.equal(stale.calls.length, 1)
  t.equal(stale.calls[0].reason, 'stale')
  t.equal(stale.calls[0].event.kind, 'txt', 'the event is classified')
  t.same(stale.calls[0].event, { ...JSON.parse(payload), kind: 'txt' })
  t.equal(stale.calls[0].request.method, 'POST', 'onStale gets the request')

  // The unmodified samples (2025) are stale against the 2027 test clock.
  const original = await post(app, JSON.stringify(sample('post_group_join')))
  t.same(original.json(), { status: 'stale' })
  t.equal(stale.calls[1].event.kind, 'group_op')
  t.same(rec.calls, [])
})

t.test('a callback too far in the future: 200 stale, onStale with reason future', async t => {
  const rec = recorder()
  const stale = staleRecorder()
  const app = await build({ handlers: rec.handlers, onStale: stale.onStale })
  t.teardown(() => app.close())
  const res = await post(app, signed(sample('post_user_login'), { timestamp: NOW + 60_001 }))
  t.same(res.json(), { status: 'stale' })
  t.same(stale.calls.map(call => [call.reason, call.event.kind]), [['future', 'user_status']])
  t.same(rec.calls, [])
})

t.test('the freshness window is inclusive at both ends and follows the options', async t => {
  const rec = recorder(['*'])
  const stale = staleRecorder()
  const app = await build({ handlers: rec.handlers, onStale: stale.onStale, maxAgeMs: 1000, maxFutureMs: 500 })
  t.teardown(() => app.close())
  const at = async (callId: string, timestamp: number): Promise<string> =>
    (await post(app, signed(sample('post_chat_txt'), { callId, timestamp }))).json<{ status: string }>().status
  t.equal(await at('exactly-max-age', NOW - 1000), 'ok')
  t.equal(await at('one-ms-too-old', NOW - 1001), 'stale')
  t.equal(await at('exactly-max-future', NOW + 500), 'ok')
  t.equal(await at('one-ms-too-new', NOW + 501), 'stale')
  t.equal(await at('now', NOW), 'ok')
  t.same(rec.calls.map(call => call.event.callId), ['exactly-max-age', 'exactly-max-future', 'now'])
  t.same(stale.calls.map(call => [call.event.callId, call.reason]), [['one-ms-too-old', 'stale'], ['one-ms-too-new', 'future']])
})

t.test('a stale callback does not use up its callId', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  t.same((await post(app, signed(sample('post_chat_txt'), { timestamp: NOW - 400_000 }))).json(), { status: 'stale' })
  t.same((await post(app, signed(sample('post_chat_txt')))).json(), { status: 'ok' })
  t.equal(rec.calls.length, 1)
})

t.test('without onStale a stale callback is answered and logged at warn', async t => {
  const { app, logs } = await buildLogged()
  t.teardown(() => app.close())
  const res = await post(app, signed(sample('post_chat_txt'), { timestamp: NOW - 300_001 }))
  t.same(res.json(), { status: 'stale' })
  const future = await post(app, signed(sample('post_chat_txt'), { timestamp: NOW + 60_001, callId: 'f' }))
  t.same(future.json(), { status: 'stale' })
  const lines = logs.lines.filter(line => line.callId !== undefined)
  t.same(lines.map(line => [line.level, line.outcome, line.kind]), [[LEVEL.warn, 'stale', 'txt'], [LEVEL.warn, 'future', 'txt']])
})

t.test('the replay memory covers the whole freshness window', async t => {
  let clock = NOW
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers, now: () => clock, maxAgeMs: 1000, maxFutureMs: 500 })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_txt'))
  t.same((await post(app, payload)).json(), { status: 'ok' })
  clock = NOW + 1000
  t.same((await post(app, payload)).json(), { status: 'duplicate' }, 'replayed at the last fresh ms')
  clock = NOW + 1001
  t.same((await post(app, payload)).json(), { status: 'stale' }, 'after that it is stale, not dispatched')
  t.equal(rec.calls.length, 1)
})

t.test('a callback stamped at the far end of the future window is a duplicate for as long as it is fresh', async t => {
  let clock = NOW
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers, now: () => clock, maxAgeMs: 1000, maxFutureMs: 500 })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_txt'), { timestamp: NOW + 500 })
  t.same((await post(app, payload)).json(), { status: 'ok' })
  clock = NOW + 1499
  t.same((await post(app, payload)).json(), { status: 'duplicate' })
  // Its age is now exactly maxAgeMs, which the route still accepts as fresh (see the window test
  // above), so the replay store must still remember it.
  clock = NOW + 1500
  t.same((await post(app, payload)).json(), { status: 'duplicate' }, 'replayed at the last ms it is still fresh')
  t.equal(rec.calls.length, 1, 'dispatched once')
})

t.test('a handler that throws once: 500, and Easemob\'s retry of the same callId is dispatched again', async t => {
  let attempts = 0
  const seen: string[] = []
  const app = await build({
    handlers: {
      txt: (event) => {
        attempts++
        seen.push(event.callId)
        if (attempts === 1) throw new Error('database down')
      }
    }
  })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_txt'))
  const first = await post(app, payload)
  t.equal(first.statusCode, 500)
  t.equal(first.json<ErrorReply>().code, 'FST_ERR_EASEMOB_HANDLER_FAILED')
  const retry = await post(app, payload)
  t.equal(retry.statusCode, 200)
  t.same(retry.json(), { status: 'ok' })
  t.equal(attempts, 2)
  t.same(seen, [payload.match(/"callId":"([^"]+)"/)?.[1], payload.match(/"callId":"([^"]+)"/)?.[1]])
  const again = await post(app, payload)
  t.same(again.json(), { status: 'duplicate' }, 'once taken, it is a duplicate')
  t.equal(attempts, 2)
})

t.test('an async handler that rejects once: same', async t => {
  let attempts = 0
  const app = await build({
    handlers: {
      '*': async () => {
        attempts++
        if (attempts === 1) throw new Error('queue full')
      }
    }
  })
  t.teardown(() => app.close())
  const payload = signed(sample('post_chat_offline_img'))
  t.equal((await post(app, payload)).statusCode, 500)
  t.equal((await post(app, payload)).statusCode, 200)
  t.equal(attempts, 2)
})

t.test('a custom replay store is used, with the documented keys and times', async t => {
  const claims: Array<[string, number, number]> = []
  const releases: string[] = []
  const seen = new Set<string>()
  const store: ReplayStore = {
    async claim (key, expiresAt, now) {
      claims.push([key, expiresAt, now])
      if (seen.has(key)) return false
      seen.add(key)
      return true
    },
    async release (key) { releases.push(key); seen.delete(key) }
  }
  let fail = true
  const app = await build({ replayStore: store, maxAgeMs: 1000, maxFutureMs: 500, handlers: { img: () => { if (fail) throw new Error('x') } } })
  t.teardown(() => app.close())
  const txt = sample('post_chat_txt')
  const img = sample('post_chat_offline_img')
  t.same((await post(app, signed(txt))).json(), { status: 'ok' })
  t.same((await post(app, signed(txt))).json(), { status: 'duplicate' })
  t.equal((await post(app, signed(img))).statusCode, 500)
  fail = false
  t.equal((await post(app, signed(img))).statusCode, 200)
  const offlineKey = `${img.callId}\u0000${String(img.to)}`
  t.same(claims, [
    [txt.callId, NOW + 1501, NOW],
    [txt.callId, NOW + 1501, NOW],
    [offlineKey, NOW + 1501, NOW],
    [offlineKey, NOW + 1501, NOW]
  ])
  t.same(releases, [offlineKey], 'released only after the failure')
})

t.test('MemoryReplayStore', async t => {
  t.test('claims a key once until it expires', async t => {
    const store = new MemoryReplayStore(10)
    t.equal(store.claim('a', 100, 0), true)
    t.equal(store.claim('a', 150, 50), false, 'still remembered')
    t.equal(store.claim('a', 199, 99), false, 'remembered until its expiry')
    t.equal(store.claim('a', 200, 100), true, 'expired at its expiry time: claimable again')
    t.equal(store.claim('a', 300, 150), false)
    t.equal(store.claim('b', 300, 150), true, 'other keys are independent')
  })

  t.test('expired entries are dropped', async t => {
    const store = new MemoryReplayStore(100)
    for (let i = 0; i < 20; i++) store.claim(`k${i}`, 1000 + i, 0)
    t.equal(store.size, 20)
    store.claim('late', 5000, 1010)
    t.equal(store.size, 10, 'k0..k10 expired and were dropped; k11..k19 and late remain')
    store.claim('later', 9000, 5000)
    t.equal(store.size, 1, 'everything but the newest expired')
  })

  t.test('release() forgets a key', async t => {
    const store = new MemoryReplayStore(10)
    t.equal(store.claim('a', 100, 0), true)
    store.release('a')
    t.equal(store.size, 0)
    t.equal(store.claim('a', 100, 0), true, 'claimable again after release')
    store.release('never-claimed')
    t.equal(store.size, 1, 'releasing an unknown key is harmless')
  })

  t.test('bounded at maxEntries: the oldest are forgotten first', async t => {
    const store = new MemoryReplayStore(5)
    let maxSize = 0
    for (let i = 0; i < 1000; i++) {
      t.equal(store.claim(`k${i}`, 1_000_000, 0), true)
      maxSize = Math.max(maxSize, store.size)
    }
    t.equal(maxSize, 5, 'size never exceeded maxEntries')
    t.equal(store.size, 5)
    for (let i = 995; i < 1000; i++) t.equal(store.claim(`k${i}`, 1_000_000, 0), false, `k${i} (among the newest) is remembered`)
    t.equal(store.claim('k0', 1_000_000, 0), true, 'k0 was forgotten to make room')
    t.equal(store.size, 5)
  })

  t.test('a bound of one', async t => {
    const store = new MemoryReplayStore(1)
    t.equal(store.claim('a', 100, 0), true)
    t.equal(store.claim('a', 100, 0), false)
    t.equal(store.claim('b', 100, 0), true)
    t.equal(store.size, 1)
    t.equal(store.claim('a', 100, 0), true, 'a was pushed out by b')
  })

  t.test('rejects a bound that is not a positive integer', async t => {
    t.throws(() => new MemoryReplayStore(0), RangeError)
    t.throws(() => new MemoryReplayStore(-1), RangeError)
    t.throws(() => new MemoryReplayStore(1.5), RangeError)
    t.throws(() => new MemoryReplayStore(Number.NaN), RangeError)
  })
})

t.test('replayMaxEntries bounds the plugin\'s default store', async t => {
  const rec = recorder(['txt'])
  const app = await build({ handlers: rec.handlers, replayMaxEntries: 2 })
  t.teardown(() => app.close())
  for (const callId of ['a', 'b', 'c']) await post(app, signed(sample('post_chat_txt'), { callId }))
  t.same((await post(app, signed(sample('post_chat_txt'), { callId: 'c' }))).json(), { status: 'duplicate' })
  t.same((await post(app, signed(sample('post_chat_txt'), { callId: 'a' }))).json(), { status: 'ok' }, 'a was forgotten')
  t.same(rec.calls.map(call => call.event.callId), ['a', 'b', 'c', 'a'])
})

t.test('the signature is checked before freshness: a badly signed old callback is 401, not stale', async t => {
  const stale = staleRecorder()
  const app = await build({ onStale: stale.onStale })
  t.teardown(() => app.close())
  const res = await post(app, signed(sample('post_chat_txt'), { timestamp: NOW - 10_000_000, secret: 'forged' }))
  t.equal(res.statusCode, 401)
  t.equal(res.json<ErrorReply>().code, 'FST_ERR_EASEMOB_SIGNATURE_MISMATCH')
  t.same(stale.calls, [], 'onStale only sees signed callbacks')
})

t.test('an onStale that throws: 500 that says nothing about the cause', async t => {
  const app = await build({ onStale: () => { throw new Error('stale sink broke: internal-detail') } })
  t.teardown(() => app.close())
  const res = await post(app, signed(sample('post_chat_txt'), { timestamp: NOW - 10_000_000 }))
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, code: 'FST_ERR_EASEMOB_INTERNAL', error: 'Internal Server Error', message: 'internal error' })
  t.notMatch(res.body, 'internal-detail')
})

t.test('chat_offline: only a `to` that can be an Easemob user ID opens its own key, at most offlineFanOutLimit per callId', async t => {
  const rec = recorder(['img'])
  const app = await build({ handlers: rec.handlers, offlineFanOutLimit: 3 })
  t.teardown(() => app.close())
  const base = sample('post_chat_offline_img')
  const status = async (to: unknown): Promise<string> => (await post(app, signed({ ...base, to }))).json<{ status: string }>().status
  t.equal(await status('carol'), 'ok')
  t.equal(await status('Carol'), 'duplicate', 'user IDs are case-insensitive')
  t.equal(await status('x'.repeat(65)), 'ok', 'too long to be a user ID: claims the callId itself')
  t.equal(await status('bob@example.com'), 'duplicate', 'and so does any other such value')
  t.equal(await status('dave'), 'ok')
  t.equal(await status('erin'), 'ok')
  t.equal(await status('frank'), 'duplicate', 'past the fan-out limit')
  t.equal(rec.calls.length, 4)
})

t.test('MemoryReplayStore is bounded in bytes as well as entries', async t => {
  const store = new MemoryReplayStore(1000, 65_536)
  const long = (i: number): string => `${String(i).padStart(4, '0')}${'k'.repeat(508)}`
  for (let i = 0; i < 200; i++) t.equal(store.claim(long(i), NOW + 1000, NOW), true)
  t.ok(store.bytes <= 65_536, `${store.bytes} bytes held`)
  t.ok(store.size < 200, `${store.size} keys held: the oldest were forgotten`)
  t.equal(store.claim(long(199), NOW + 1000, NOW), false, 'the newest are remembered')
  t.equal(store.claim(long(0), NOW + 1000, NOW), true, 'the oldest were forgotten first')
})

t.test('a fan-out place is given back when its callback is released', async t => {
  const store = new MemoryReplayStore(100)
  const fanOut = { group: 'call', limit: 2 }
  t.equal(store.claim('call\u0000a', NOW + 10, NOW, fanOut), true)
  t.equal(store.claim('call\u0000b', NOW + 10, NOW, fanOut), true)
  t.equal(store.claim('call\u0000c', NOW + 10, NOW, fanOut), false, 'the group is full')
  store.release('call\u0000b', fanOut)
  t.equal(store.claim('call\u0000c', NOW + 10, NOW, fanOut), true, 'the released place is taken')
  t.equal(store.claim('call\u0000d', NOW + 20, NOW + 11, fanOut), true, 'the count expires with its window')
})

t.test('a stale callback resent with other payloads reaches onStale once', async t => {
  const stale = staleRecorder()
  const app = await build({ onStale: stale.onStale })
  t.teardown(() => app.close())
  const answers = []
  for (const msg of ['one', 'two', 'three']) {
    const body = sample('post_chat_txt')
    ;(body.payload as { bodies: Array<{ msg: string }> }).bodies[0].msg = msg
    answers.push((await post(app, signed(body, { timestamp: NOW - 400_000 }))).json<{ status: string }>().status)
  }
  t.same(answers, ['stale', 'duplicate', 'duplicate'])
  t.equal(stale.calls.length, 1)
})
