import type { Redis } from 'ioredis'
import { closeRedisClient, type RedisScript, redisScript } from '../redis-client.js'
import type { SharedDecisions } from './shared-decisions.js'

/**
 * KEYS: the decision's key. ARGV: this replica's reply, how long to keep it (ms).
 * Keeps the first reply and answers with whichever is kept, in one step: two replicas deciding
 * the same callId at once both answer with the same one.
 */
const KEEP = `
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return redis.call('GET', KEYS[1])
`

export interface RedisSharedDecisionsOptions {
  /** Put before every key written. Default `easemob:`. */
  prefix?: string
  /** Quit the client on close(). Default false: the client is the caller's. */
  ownsClient?: boolean
}

/**
 * Pre-send replies shared through Redis under `{prefix}pre-send:{callId}`, so that Easemob's
 * replay of a pre-send request gets the first reply whichever replica it reaches. Errors are
 * passed on as they are: the pre-send route then decides alone within its budget.
 */
export class RedisSharedDecisions implements SharedDecisions {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ownsClient: boolean
  readonly #keep: RedisScript

  constructor (redis: Redis, options: RedisSharedDecisionsOptions = {}) {
    this.#redis = redis
    this.#prefix = options.prefix ?? 'easemob:'
    this.#ownsClient = options.ownsClient ?? false
    this.#keep = redisScript(redis, 'easemobPreSendKeep', KEEP)
  }

  async get (callId: string): Promise<string | undefined> {
    return await this.#redis.get(this.#key(callId)) ?? undefined
  }

  async keep (callId: string, reply: string, ttlMs: number): Promise<string> {
    const kept = await this.#keep([this.#key(callId)], [reply, Math.max(1, Math.ceil(ttlMs))])
    // The script always finds a value (time stands still inside it); ours stands if it did not.
    return typeof kept === 'string' ? kept : reply
  }

  async close (): Promise<void> {
    if (this.#ownsClient) await closeRedisClient(this.#redis)
  }

  #key (callId: string): string {
    return `${this.#prefix}pre-send:${callId}`
  }
}
