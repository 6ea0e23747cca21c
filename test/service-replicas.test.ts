// The service as two replicas, as a process each, sharing Redis and publishing to JetStream:
// a callback and Easemob's retry of it reach one replica each and are taken once; /readyz names
// the dependency that is down.
import { Redis } from 'ioredis'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import t from 'tap'
import { signCallback } from '../index.js'
import { sample } from './helpers/callbacks.js'
import { natsServerMissing, startNatsServer } from './helpers/nats-server.js'
import { RedisServer, redisServerMissing } from './helpers/redis-server.js'
import { postJson, startService } from './helpers/service-process.js'

const missing = redisServerMissing() ?? natsServerMissing()

t.test('two replicas: a callback and its retry are taken once, in the Redis stream and in JetStream', { skip: missing }, async t => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.destroy())
  const nats = await startNatsServer(t)
  const env = { SINKS: 'log,redis,nats', REDIS_URL: redis.url, NATS_URL: nats.url }
  const [a, b] = await Promise.all([startService(t, env), startService(t, env)])

  const callback = JSON.stringify(signCallback({ ...sample('post_chat_txt'), callId: 'acme#app_9001' }, 'test-secret', Date.now()))
  t.same((await postJson(a.url, callback)).body, { status: 'ok' }, 'replica A takes it')
  t.same((await postJson(b.url, callback)).body, { status: 'duplicate' }, 'the retry reaches replica B: duplicate')

  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  t.equal(await client.xlen('easemob:callbacks'), 1, 'one entry in the stream')
  const nc = await connect({ servers: nats.url })
  t.teardown(() => nc.close())
  const info = await (await jetstreamManager(nc)).streams.info('EASEMOB_CALLBACKS')
  t.equal(info.state.messages, 1, 'one message in JetStream')

  t.same(await (await fetch(`${a.url}/readyz`)).json(), { status: 'ready' })
  await redis.stop()
  const down = await fetch(`${a.url}/readyz`)
  t.equal(down.status, 503)
  t.match(await down.json(), { status: 'not ready', redis: String }, 'readiness names Redis')
  const refused = await postJson(b.url, JSON.stringify(signCallback({ ...sample('post_chat_txt'), callId: 'acme#app_9002' }, 'test-secret', Date.now())))
  t.equal(refused.status, 503, 'never 200 while Redis is down')
})
