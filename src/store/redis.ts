import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { ERR_REPLAY_STORE_FAILED } from '../errors.js'
import { closeRedisClient, type RedisScript, redisScript } from '../redis-client.js'
import { settleWithin } from '../thenable.js'
import type { FanOut, ReplayStore } from './types.js'

/**
 * KEYS: the replay key, then the fan-out group's counter when there is a group.
 * ARGV: this claim's token, how long to remember (ms), the group's limit.
 * Does what MemoryReplayStore.claim does, in one step that no other replica can come between.
 */
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if #KEYS == 2 then
  local held = redis.call('INCR', KEYS[2])
  -- The count lives as long as the group's first key: the cap holds per freshness window.
  if redis.call('PTTL', KEYS[2]) == -1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  if held > tonumber(ARGV[3]) then
    redis.call('DECR', KEYS[2])
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`

/**
 * KEYS as CLAIM's. ARGV: a claim's token, to forget the key only while that claim holds it, or ''
 * to forget it whoever holds it. Gives the group's place back as MemoryReplayStore.release does.
 */
const RELEASE = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if #KEYS == 2 then
  local held = tonumber(redis.call('GET', KEYS[2]))
  if held ~= nil and held > 0 then redis.call('DECR', KEYS[2]) end
end
return 1
`

export interface RedisReplayStoreOptions {
  /** Put before every key the store writes. Default `easemob:`. */
  prefix?: string
  /** Time a claim or release has, in ms, for clients without a command timeout. Default 2000. */
  timeoutMs?: number
  /** Quit the client when the store is closed. Default false: the client is the caller's. */
  ownsClient?: boolean
}

/**
 * The duplicate memory in Redis, shared by every replica that uses the same Redis: a callback
 * taken by one is a duplicate at all the others. Keys are `{prefix}replay:{key}` and, for the
 * chat_offline fan-out, `{prefix}fanout:{callId}`; Redis expires them. A Redis that fails or does
 * not answer makes `claim` and `release` reject with FST_ERR_EASEMOB_REPLAY_STORE_FAILED (503),
 * so that Easemob retries instead of a callback being answered 200 unhandled.
 */
export class RedisReplayStore implements ReplayStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #ownsClient: boolean
  readonly #claim: RedisScript
  readonly #release: RedisScript

  constructor (redis: Redis, options: RedisReplayStoreOptions = {}) {
    this.#redis = redis
    this.#prefix = options.prefix ?? 'easemob:'
    this.#timeoutMs = options.timeoutMs ?? 2000
    this.#ownsClient = options.ownsClient ?? false
    this.#claim = redisScript(redis, 'easemobReplayClaim', CLAIM)
    this.#release = redisScript(redis, 'easemobReplayRelease', RELEASE)
  }

  async claim (key: string, expiresAt: number, now: number, fanOut?: FanOut): Promise<boolean> {
    const token = randomUUID()
    const ttl = Math.max(1, Math.ceil(expiresAt - now))
    try {
      return await this.#run(this.#claim(this.#keys(key, fanOut), [token, ttl, fanOut?.limit ?? 0])) === 1
    } catch (error) {
      // A claim whose answer was lost may have been taken: left there, it would make Easemob's
      // retry a duplicate. Taken back if Redis holds it for this claim (sent after it, it runs after it).
      this.#run(this.#release(this.#keys(key, fanOut), [token])).catch(() => {})
      throw new ERR_REPLAY_STORE_FAILED({ cause: error })
    }
  }

  async release (key: string, fanOut?: FanOut): Promise<void> {
    try {
      await this.#run(this.#release(this.#keys(key, fanOut), ['']))
    } catch (error) {
      throw new ERR_REPLAY_STORE_FAILED({ cause: error })
    }
  }

  async close (): Promise<void> {
    if (this.#ownsClient) await closeRedisClient(this.#redis)
  }

  #keys (key: string, fanOut: FanOut | undefined): string[] {
    const replay = `${this.#prefix}replay:${key}`
    return fanOut === undefined ? [replay] : [replay, `${this.#prefix}fanout:${fanOut.group}`]
  }

  #run (work: Promise<unknown>): Promise<unknown> {
    return settleWithin(work, this.#timeoutMs, () => new Error(`Redis did not answer within ${this.#timeoutMs} ms`))
  }
}
