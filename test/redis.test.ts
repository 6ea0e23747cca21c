// Several replicas sharing one Redis: the duplicate memory, the chat_offline fan-out cap, the
// stream sink and the pre-send decisions hold across instances, and a Redis that goes away makes
// callbacks 503 (never 200) until it is back. A real redis-server, started by the test.
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { type EasemobCallbackOptions, MemoryReplayStore } from '../index.js'
import { RedisSharedDecisions } from '../src/pre-send/redis-decisions.js'
import { checkRedisUrl, closeRedisClient, redisClient } from '../src/redis-client.js'
import { RedisStreamSink } from '../src/sinks/redis-stream.js'
import { RedisReplayStore } from '../src/store/redis.js'
import { build, type ErrorReply, NOW, post, sample, signed } from './helpers/callbacks.js'
import { RedisServer, redisServerMissing } from './helpers/redis-server.js'

/** The route's duplicate memory with the default window: maxAgeMs + maxFutureMs + 1. */
const WINDOW_MS = 300_000 + 60_000 + 1
/** How long a client has to reconnect after Redis is back. */
const RECONNECT_TIMEOUT_MS = 15_000

type Status = { status: string }

/** A client as the service builds it, ready, its errors (expected when Redis stops) kept quiet. */
async function connectedClient (server: RedisServer): Promise<Redis> {
  const redis = redisClient(server.url)
  redis.on('error', () => {})
  await ready(redis)
  return redis
}

/** Resolves when the client is (again) ready; its error events while it reconnects are expected. */
function ready (redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', done)
      reject(new Error(`the client did not reconnect within ${RECONNECT_TIMEOUT_MS} ms`))
    }, RECONNECT_TIMEOUT_MS)
    function done (): void {
      clearTimeout(timer)
      resolve()
    }
    redis.once('ready', done)
  })
}

function callIdsOf (entries: Array<[string, string[]]>): string[] {
  return entries.map(([, fields]) => fields[fields.indexOf('callId') + 1])
}

const missing = redisServerMissing()
if (missing !== undefined) {
  t.test('the Redis tests', { skip: missing }, () => {})
} else {
  let server: RedisServer
  let admin: Redis
  t.before(async () => {
    server = await RedisServer.start()
    admin = new Redis(server.url)
  })
  t.teardown(async () => {
    admin.disconnect()
    await server.destroy()
  })

  /** Two instances of the plugin, each with its own Redis client, as two replicas are. */
  async function replicas (t: Test, options: (redis: Redis, name: 'a' | 'b') => EasemobCallbackOptions): Promise<[FastifyInstance, FastifyInstance]> {
    const apps: FastifyInstance[] = []
    for (const name of ['a', 'b'] as const) {
      const redis = await connectedClient(server)
      const app = await build(options(redis, name))
      t.teardown(async () => { await app.close(); await closeRedisClient(redis) })
      apps.push(app)
    }
    return apps as [FastifyInstance, FastifyInstance]
  }

  t.test('a retried callback is dispatched once across two instances; after a failure the retry is taken elsewhere', async t => {
    const ran: Array<[string, string]> = []
    const [a, b] = await replicas(t, (redis, name) => ({
      replayStore: new RedisReplayStore(redis, { prefix: 't1:' }),
      handlers: {
        txt: event => {
          if (name === 'a' && event.callId === 'fails-on-a') throw new Error('database down')
          ran.push([name, event.callId])
        }
      }
    }))
    const payload = signed(sample('post_chat_txt'), { callId: 'retried' })
    t.same((await post(a, payload)).json(), { status: 'ok' })
    t.same((await post(b, payload)).json(), { status: 'duplicate' }, 'the retry at the other replica')
    t.same((await post(a, payload)).json(), { status: 'duplicate' })
    const ttl = await admin.pttl('t1:replay:retried')
    t.ok(ttl > 0 && ttl <= WINDOW_MS, `remembered for the freshness window (${ttl} ms left)`)

    const failing = signed(sample('post_chat_txt'), { callId: 'fails-on-a' })
    const failed = await post(a, failing)
    t.equal(failed.statusCode, 500)
    t.equal(failed.json<ErrorReply>().code, 'FST_ERR_EASEMOB_HANDLER_FAILED')
    t.same((await post(b, failing)).json(), { status: 'ok' }, 'released: the retry at B is dispatched')
    t.same((await post(a, failing)).json(), { status: 'duplicate' })
    t.same(ran, [['a', 'retried'], ['b', 'fails-on-a']])
  })

  t.test('the chat_offline fan-out limit holds across two instances', async t => {
    const [a, b] = await replicas(t, redis => ({ replayStore: new RedisReplayStore(redis, { prefix: 't2:' }), offlineFanOutLimit: 3 }))
    const base = sample('post_chat_offline_img')
    const status = async (app: FastifyInstance, to: string): Promise<string> => (await post(app, signed({ ...base, to }))).json<Status>().status
    t.equal(await status(a, 'carol'), 'ok')
    t.equal(await status(b, 'Carol'), 'duplicate', 'user IDs are case-insensitive, at every replica')
    t.equal(await status(b, 'dave'), 'ok')
    t.equal(await status(a, 'erin'), 'ok')
    t.equal(await status(b, 'frank'), 'duplicate', 'past the limit, counted over both replicas')
    t.equal(await status(a, 'gina'), 'duplicate')
    t.equal(await admin.get(`t2:fanout:${base.callId}`), '3')
    const ttl = await admin.pttl(`t2:fanout:${base.callId}`)
    t.ok(ttl > 0 && ttl <= WINDOW_MS, 'the count expires with the window')
  })

  t.test('RedisReplayStore: one winner among concurrent claims, binary-safe keys, places given back', async t => {
    const stores = [new RedisReplayStore(await connectedClient(server), { prefix: 't3:', ownsClient: true }),
      new RedisReplayStore(await connectedClient(server), { prefix: 't3:', ownsClient: true })]
    t.teardown(async () => { await Promise.all(stores.map(store => store.close())) })
    const key = 'stale\u0000通话-1\u0000carol'
    const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2].claim(key, NOW + 1000, NOW)))
    t.equal(claims.filter(Boolean).length, 1, 'exactly one claim wins')
    t.equal(await admin.exists(`t3:replay:${key}`), 1, 'the key is stored as given')
    await stores[1].release(key)
    t.equal(await stores[0].claim(key, NOW + 1000, NOW), true, 'claimable again after release')

    const fanOut = { group: 'call\u0000x', limit: 2 }
    t.equal(await stores[0].claim('call\u0000a', NOW + 1000, NOW, fanOut), true)
    t.equal(await stores[1].claim('call\u0000b', NOW + 1000, NOW, fanOut), true)
    t.equal(await stores[0].claim('call\u0000c', NOW + 1000, NOW, fanOut), false, 'the group is full')
    t.equal(await stores[0].claim('call\u0000a', NOW + 1000, NOW, fanOut), false, 'a held key does not count twice')
    await stores[1].release('call\u0000b', fanOut)
    t.equal(await stores[0].claim('call\u0000c', NOW + 1000, NOW, fanOut), true, 'the released place is taken')
    t.equal(await admin.get('t3:fanout:call\u0000x'), '2')
  })

  t.test('50 concurrent copies over two instances with their own memory: the shared sink keeps one', async t => {
    const sink = new RedisStreamSink(await connectedClient(server), { stream: 't4:callbacks', dedupMs: WINDOW_MS, ownsClient: true })
    t.teardown(() => sink.close())
    const [a, b] = await replicas(t, () => ({ replayStore: new MemoryReplayStore(1000), sinks: [sink] }))
    const body = sample('post_chat_txt')
    const payload = signed(body, { callId: 'fifty' })
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(i % 2 === 0 ? a : b, payload)))
    t.same(answers.map(answer => answer.statusCode), Array(50).fill(200))
    const statuses = answers.map(answer => answer.json<Status>().status)
    t.equal(statuses.filter(status => status === 'ok').length, 1, 'one ok')
    t.equal(statuses.filter(status => status === 'duplicate').length, 49, 'the rest duplicate')
    t.equal(await admin.xlen('t4:callbacks'), 1)
    const [[, fields]] = await admin.xrange('t4:callbacks', '-', '+') as Array<[string, string[]]>
    t.same(fields.filter((_, i) => i % 2 === 0), ['callId', 'kind', 'event'])
    t.same(JSON.parse(fields[5]), { ...JSON.parse(payload), kind: 'txt' }, 'the event as the handlers get it')
    t.equal(fields[1], 'fifty')
    const ttl = await admin.pttl('t4:callbacks:seen:fifty')
    t.ok(ttl > 0 && ttl <= WINDOW_MS, 'the marker lives for dedupMs')
  })

  t.test('a consumer group reads every accepted callback exactly once', async t => {
    const stream = 't5:callbacks'
    await admin.xgroup('CREATE', stream, 'readers', '$', 'MKSTREAM')
    const sink = new RedisStreamSink(await connectedClient(server), { stream, dedupMs: WINDOW_MS, ownsClient: true })
    t.teardown(() => sink.close())
    const [a, b] = await replicas(t, redis => ({ replayStore: new RedisReplayStore(redis, { prefix: 't5:' }), sinks: [sink] }))
    const total = 100
    const seen: string[] = []
    // Two readers in one group, reading while the callbacks arrive, as a pipeline would.
    const readers = [new Redis(server.url), new Redis(server.url)]
    t.teardown(() => { for (const reader of readers) reader.disconnect() })
    const deadline = Date.now() + 20_000
    const read = async (reader: Redis, consumer: string): Promise<void> => {
      while (seen.length < total && Date.now() < deadline) {
        const reply = await reader.xreadgroup('GROUP', 'readers', consumer, 'COUNT', 7, 'BLOCK', 100, 'STREAMS', stream, '>') as Array<[string, Array<[string, string[]]>]> | null
        for (const [, entries] of reply ?? []) {
          seen.push(...callIdsOf(entries))
          await reader.xack(stream, 'readers', ...entries.map(([id]) => id))
        }
      }
    }
    const reading = Promise.all([read(readers[0], 'one'), read(readers[1], 'two')])
    const statuses: string[] = []
    for (let i = 0; i < total; i++) {
      const payload = signed(sample('post_chat_txt'), { callId: `c-${i}` })
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a]
      statuses.push((await post(first, payload)).json<Status>().status)
      if (i % 3 === 0) statuses.push((await post(second, payload)).json<Status>().status)
    }
    await reading
    t.equal(statuses.filter(status => status === 'ok').length, total)
    t.equal(statuses.filter(status => status === 'duplicate').length, 34, 'every second post was a duplicate')
    t.same([...seen].sort(), Array.from({ length: total }, (_, i) => `c-${i}`).sort(), 'each callId read once')
    t.equal(await admin.xlen(stream), total)
    const [pending] = await admin.xpending(stream, 'readers') as [number]
    t.equal(pending, 0, 'all acknowledged')
  })

  t.test('pre-send: a replay reaching another instance gets the first instance\'s decision', async t => {
    const policies = { a: { valid: false }, b: { valid: true } } as const
    const [a, b] = await replicas(t, (redis, name) => ({
      preSend: () => policies[name],
      preSendShared: new RedisSharedDecisions(redis, { prefix: 't6:' }),
      preSendBudgetMs: 2000
    }))
    const ask = async (app: FastifyInstance, callId: string): Promise<string> => (await post(app, signed(sample('pre_send_txt'), { callId }), '/pre-send')).body
    t.equal(await ask(a, 'decided-at-a'), '{"valid":false}')
    t.equal(await ask(b, 'decided-at-a'), '{"valid":false}', 'B answers with A\'s decision')
    t.equal(await ask(b, 'decided-at-b'), '{"valid":true}')
    t.equal(await ask(a, 'decided-at-b'), '{"valid":true}', 'and A with B\'s')
    t.equal(await admin.get('t6:pre-send:decided-at-a'), '{"valid":false}')
    const ttl = await admin.pttl('t6:pre-send:decided-at-a')
    t.ok(ttl > 0 && ttl <= WINDOW_MS)
    const together = await Promise.all([ask(a, 'at-once'), ask(b, 'at-once')])
    t.equal(together[0], together[1], 'deciding at the same moment, both send the one kept')
  })

  t.test('Redis stopped mid-run: 503 and never 200; back by itself after, and nothing acknowledged is lost', async t => {
    const own = await RedisServer.start()
    t.teardown(() => own.destroy())
    const stream = 'easemob:callbacks'
    // As the service runs with REDIS_URL and SINKS=redis: one client per replica for both.
    const clients: Redis[] = []
    const sinks: RedisStreamSink[] = []
    const apps: FastifyInstance[] = []
    for (let i = 0; i < 2; i++) {
      const redis = await connectedClient(own)
      const sink = new RedisStreamSink(redis, { stream, dedupMs: WINDOW_MS })
      const app = await build({ replayStore: new RedisReplayStore(redis, { ownsClient: true }), sinks: [sink] })
      t.teardown(() => app.close())
      clients.push(redis)
      sinks.push(sink)
      apps.push(app)
    }
    const [a, b] = apps
    const at = (i: number): FastifyInstance => i % 2 === 0 ? a : b
    const payload = (callId: string): string => signed(sample('post_chat_txt'), { callId })

    const acknowledged: string[] = []
    for (let i = 0; i < 20; i++) {
      const answer = await post(at(i), payload(`before-${i}`))
      t.equal(answer.statusCode, 200)
      acknowledged.push(`before-${i}`)
    }

    await own.stop('SIGKILL')
    const refused = new Set<string>()
    for (let i = 0; i < 10; i++) {
      const answer = await post(at(i), payload(`during-${i}`))
      t.equal(answer.statusCode, 503, `during-${i} is not answered 200`)
      refused.add(answer.json<ErrorReply>().code)
    }
    const again = await post(a, payload('before-0'))
    t.equal(again.statusCode, 503, 'even a duplicate cannot be told while Redis is away')
    t.ok([...refused].every(code => ['FST_ERR_EASEMOB_REPLAY_STORE_FAILED', 'FST_ERR_EASEMOB_SINK_FAILED', 'FST_ERR_EASEMOB_SINK_TIMEOUT'].includes(code)), [...refused].join(', '))
    await t.rejects(sinks[0].probe(), { code: 'FST_ERR_EASEMOB_SINK_FAILED' }, 'readiness fails')

    await own.start()
    await Promise.all(clients.map(ready))
    await sinks[0].probe()
    for (let i = 0; i < 10; i++) {
      t.same((await post(at(i + 1), payload(`during-${i}`))).json(), { status: 'ok' }, `Easemob's retry of during-${i} is taken`)
      acknowledged.push(`during-${i}`)
    }
    t.same((await post(b, payload('before-0'))).json(), { status: 'duplicate' }, 'the duplicate memory came back from the AOF')
    const entries = await clients[0].xrange(stream, '-', '+') as Array<[string, string[]]>
    t.same(callIdsOf(entries), acknowledged, 'every callback answered 200 is in the stream, once, in order')
  })

  t.test('a late answer is a 503, and what it did is made safe for the retry', async t => {
    const redis = await connectedClient(server)
    t.teardown(() => closeRedisClient(redis))
    const store = new RedisReplayStore(redis, { prefix: 't7:', timeoutMs: 50 })
    const sink = new RedisStreamSink(redis, { stream: 't7:callbacks', dedupMs: WINDOW_MS, timeoutMs: 50 })
    const event = { ...sample('post_chat_txt'), callId: 'late', kind: 'txt' } as unknown as Parameters<RedisStreamSink['write']>[0]

    // Redis holds every write for a while: the commands run, after the answers gave up on them.
    await admin.client('PAUSE', 300, 'WRITE')
    await t.rejects(store.claim('late', NOW + 1000, NOW), { code: 'FST_ERR_EASEMOB_REPLAY_STORE_FAILED', statusCode: 503 })
    await t.rejects(sink.write(event, 'late'), { code: 'FST_ERR_EASEMOB_SINK_TIMEOUT', statusCode: 503 })
    await redis.ping() // answered after everything sent before it: the pause is over and all of it ran
    t.equal(await admin.exists('t7:replay:late'), 0, 'the late claim was taken back')
    t.equal(await store.claim('late', NOW + 1000, NOW), true, 'so Easemob\'s retry is taken')
    t.equal(await admin.xlen('t7:callbacks'), 1, 'the late write was appended')
    t.equal(await sink.write(event, 'late'), false, 'and the retry finds it: in the stream once')
  })

  t.test('checkRedisUrl and redisClient', async t => {
    t.equal(checkRedisUrl('redis://localhost:6379'), undefined)
    t.equal(checkRedisUrl('rediss://user:p%40ss@redis.example.com:6380/2'), undefined)
    t.match(checkRedisUrl('localhost:6379'), /scheme localhost/)
    t.match(checkRedisUrl('http://localhost'), /scheme http/)
    t.match(checkRedisUrl('not a url'), /not a URL/)
    t.match(checkRedisUrl('redis://localhost/cache'), /database number/)
    t.match(checkRedisUrl('redis://'), /no host/)
    t.throws(() => redisClient('http://localhost'), TypeError)
    const tls = redisClient('REDISS://user:secret@127.0.0.1:1/3', { lazyConnect: true })
    t.teardown(() => { tls.disconnect() })
    t.ok(tls.options.tls, 'rediss:// is TLS, whatever its case')
    t.match(tls.options, { username: 'user', password: 'secret', db: 3, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
  })

  t.test('RedisStreamSink refuses bounds that are not positive integers', async t => {
    t.throws(() => new RedisStreamSink(admin, { dedupMs: 0 }), RangeError)
    t.throws(() => new RedisStreamSink(admin, { dedupMs: 1000, maxLength: 1.5 }), RangeError)
  })
}
