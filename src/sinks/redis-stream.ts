import type { Redis } from 'ioredis'
import { ERR_SINK_FAILED, ERR_SINK_TIMEOUT } from '../errors.js'
import { closeRedisClient, type RedisScript, redisScript } from '../redis-client.js'
import { settleWithin } from '../thenable.js'
import type { CallbackEvent } from '../schemas/kinds.js'
import type { CallbackSink } from './types.js'

/**
 * KEYS: the key's duplicate marker, the stream. ARGV: how long the marker lives (ms), the
 * stream's approximate length bound, callId, kind, the event as JSON.
 * The duplicate check and the append in one step: no crash or replica can come between them, so
 * a callback is neither lost (marked but not appended) nor appended twice. An append that fails
 * takes its marker back, for the same reason.
 */
const WRITE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'callId', ARGV[3], 'kind', ARGV[4], 'event', ARGV[5])
if type(added) == 'table' and added.err then
  redis.call('DEL', KEYS[1])
  return added
end
return 1
`

function positiveInteger (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`RedisStreamSink: ${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

export interface RedisStreamSinkOptions {
  /** The stream's key; markers are `{stream}:seen:{key}`. Default `easemob:callbacks`. */
  stream?: string
  /** Entries the stream keeps, roughly (XADD MAXLEN ~): older ones are trimmed. Default 1000000. */
  maxLength?: number
  /** How long a key is remembered, in ms: the freshness window, past which a replay is stale anyway. */
  dedupMs: number
  /** Time a write has before the callback is answered 503, in ms. Default 2000. */
  timeoutMs?: number
  /** Quit the client on close(). Default false: the client is the caller's. */
  ownsClient?: boolean
}

/**
 * Appends each callback to a Redis stream before it is answered 200, for pipelines that read the
 * stream (XREADGROUP) rather than run handlers here. Entries have the fields `callId`, `kind` and
 * `event` (the callback as JSON). Replicas writing to one stream share its duplicate markers.
 */
export class RedisStreamSink implements CallbackSink {
  readonly name = 'redis'
  readonly #redis: Redis
  readonly #stream: string
  readonly #maxLength: number
  readonly #dedupMs: number
  readonly #timeoutMs: number
  readonly #ownsClient: boolean
  readonly #write: RedisScript

  constructor (redis: Redis, options: RedisStreamSinkOptions) {
    this.#redis = redis
    this.#stream = options.stream ?? 'easemob:callbacks'
    this.#maxLength = positiveInteger('maxLength', options.maxLength ?? 1_000_000)
    this.#dedupMs = positiveInteger('dedupMs', options.dedupMs)
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 2000)
    this.#ownsClient = options.ownsClient ?? false
    this.#write = redisScript(redis, 'easemobStreamWrite', WRITE)
  }

  async write (event: CallbackEvent, key: string): Promise<boolean> {
    const keys = [`${this.#stream}:seen:${key}`, this.#stream]
    const args = [this.#dedupMs, this.#maxLength, event.callId, event.kind, JSON.stringify(event)]
    // A write that is late may still be appended: Easemob's retry then finds its marker and the
    // callback is in the stream once.
    return await this.#bounded(this.#write(keys, args)) === 1
  }

  async probe (): Promise<void> {
    await this.#bounded(this.#redis.ping())
  }

  async close (): Promise<void> {
    if (this.#ownsClient) await closeRedisClient(this.#redis)
  }

  async #bounded<T> (work: Promise<T>): Promise<T> {
    try {
      return await settleWithin(work, this.#timeoutMs, () => new ERR_SINK_TIMEOUT(this.name, this.#timeoutMs))
    } catch (error) {
      if (error instanceof ERR_SINK_TIMEOUT) throw error
      throw new ERR_SINK_FAILED(this.name, { cause: error })
    }
  }
}
