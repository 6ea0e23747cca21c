import type { Redis } from 'ioredis'
import { JetStreamSink, redisClient, RedisReplayStore, RedisSharedDecisions, RedisStreamSink } from '../index.js'
import { closeRedisClient } from '../src/redis-client.js'
import type { CallbackSink, ReplayStore, SharedDecisions } from '../index.js'
import type { ServiceConfig } from './config.js'

/** What Redis and NATS give the service: shared memory, sinks, and how to tell they are there. */
export interface Dependencies {
  replayStore?: ReplayStore
  preSendShared?: SharedDecisions
  sinks: CallbackSink[]
  /** Readiness: each throws while its server cannot be reached. */
  probes: Array<{ name: string, probe: () => Promise<void> }>
  /** Closes the connections the service opened (the plugin closes the sinks). */
  close: () => Promise<void>
}

/**
 * With REDIS_URL: the duplicate memory and the pre-send decisions are Redis's, shared by every
 * replica, and the `redis` sink appends to a stream. With `nats`: a JetStream sink. Both keep
 * what they are told for as long as a replay could still pass as fresh.
 */
export async function connectDependencies (config: ServiceConfig): Promise<Dependencies> {
  const window = (config.maxAgeSeconds + config.maxFutureSeconds) * 1000 + 1
  const sinks: CallbackSink[] = []
  const probes: Dependencies['probes'] = []
  let redis: Redis | undefined
  let replayStore: ReplayStore | undefined
  let preSendShared: SharedDecisions | undefined
  if (config.redisUrl !== '') {
    redis = redisClient(config.redisUrl)
    const client = redis
    // Errors surface as 503s and in /readyz; ioredis's own events would only repeat them.
    client.on('error', () => {})
    replayStore = new RedisReplayStore(client)
    preSendShared = new RedisSharedDecisions(client)
    probes.push({ name: 'redis', probe: async () => { await client.ping() } })
    if (config.sinks.includes('redis')) sinks.push(new RedisStreamSink(client, { stream: config.redisStream, dedupMs: window }))
  }
  if (config.sinks.includes('nats')) {
    const sink = await JetStreamSink.open({ servers: config.natsUrl, subject: config.natsSubject, stream: config.natsStream, duplicateWindowMs: window })
    sinks.push(sink)
    probes.push({ name: 'nats', probe: () => sink.probe() })
  }
  return {
    replayStore,
    preSendShared,
    sinks,
    probes,
    close: async () => { if (redis !== undefined) await closeRedisClient(redis) }
  }
}
