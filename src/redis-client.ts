import { Redis, type RedisOptions } from 'ioredis'

/** Longest wait between two reconnection attempts, in ms. */
const MAX_RECONNECT_DELAY_MS = 2000

/**
 * Settings for a webhook receiver. Easemob retries a callback once when it is not answered 200, so
 * a command that cannot run now must fail now (503, and the retry comes) rather than wait in a
 * queue past Easemob's patience:
 * - no offline queue: while disconnected a command is refused at once;
 * - no retries per request and no resending after a reconnect: a command whose reply was lost may
 *   have run, and running a claim again would answer "already claimed" for its own first run, a
 *   callback answered 200 as a duplicate and never handled;
 * - a command timeout, so that a Redis that stops answering cannot hold a request;
 * - reconnecting for ever by itself, with a capped backoff, so that it is back soon after Redis.
 */
const RECEIVER_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 1000,
  connectTimeout: 5000,
  retryStrategy: times => Math.min(50 * 2 ** Math.min(times - 1, 10), MAX_RECONNECT_DELAY_MS)
}

/**
 * What is wrong with `url` as a REDIS_URL (`redis://` or `rediss://` for TLS, with optional user,
 * password and database number), or undefined when it can be used.
 */
export function checkRedisUrl (url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL; expected redis://[user:password@]host[:port][/db] or rediss:// for TLS'
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `has scheme ${parsed.protocol.slice(0, -1)}; expected redis:// or rediss:// (TLS)`
  }
  if (parsed.hostname === '') return 'has no host'
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d{1,5}$/.test(db)) return `has path /${db}; the path can only be a database number`
  return undefined
}

/**
 * A Redis client built from one URL, set up to fail fast and reconnect by itself (see
 * RECEIVER_OPTIONS). `options` override those settings. It connects at once; its `error` events
 * are the caller's to log (ioredis prints unhandled ones to stderr).
 */
export function redisClient (url: string, options: RedisOptions = {}): Redis {
  const problem = checkRedisUrl(url)
  if (problem !== undefined) throw new TypeError(`REDIS_URL ${problem}`)
  // ioredis only recognises a lower-case rediss:// as TLS; the URL parser lowers the scheme.
  const tls = new URL(url).protocol === 'rediss:' ? { tls: {} } : {}
  return new Redis(url, { ...RECEIVER_OPTIONS, ...tls, ...options })
}

/** Closes a client politely when it is connected, and at once when it is not. */
export async function closeRedisClient (redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  try {
    await redis.quit()
  } catch {
    // Not writable (refused without an offline queue) or already going: nothing to wait for.
    redis.disconnect()
  }
}

export type RedisScript = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>

/**
 * A Lua script run with EVALSHA (ioredis sends it with EVAL when Redis does not know it, as after
 * a Redis restart). `name` must be unique to the script: clients are shared between the parts.
 */
export function redisScript (redis: Redis, name: string, lua: string): RedisScript {
  const commands = redis as unknown as Record<string, ((...args: Array<string | number>) => Promise<unknown>) | undefined>
  if (typeof commands[name] !== 'function') redis.defineCommand(name, { lua })
  const command = commands[name] as (...args: Array<string | number>) => Promise<unknown>
  return (keys, args) => command.call(redis, keys.length, ...keys, ...args)
}

