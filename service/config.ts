import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { Webhook } from 'standardwebhooks'
import { checkRedisUrl } from '../src/redis-client.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Where accepted callbacks go: the log, the outbox file, the user's backend, a Redis stream, JetStream. */
export const SINK_NAMES = ['log', 'sqlite', 'http', 'redis', 'nats'] as const
export type SinkName = typeof SINK_NAMES[number]

/** The service's whole configuration, read from the environment once at start. */
export const ServiceConfig = Type.Object({
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  secrets: Type.Array(Type.String({ minLength: 1 })),
  insecureSkipSignature: Type.Boolean(),
  maxAgeSeconds: Type.Integer({ minimum: 1 }),
  maxFutureSeconds: Type.Integer({ minimum: 1 }),
  replayMaxEntries: Type.Integer({ minimum: 1 }),
  replayMaxBytes: Type.Integer({ minimum: 65_536 }),
  offlineFanOutLimit: Type.Integer({ minimum: 1 }),
  handlerTimeoutMs: Type.Integer({ minimum: 1, maximum: 60_000 }),
  bodyLimit: Type.Integer({ minimum: 1024 }),
  logLevel: Type.Union(LOG_LEVELS.map(level => Type.Literal(level))),
  /** Path of the pre-send rules file; empty: no pre-send route. */
  preSendRules: Type.String(),
  preSendBudgetMs: Type.Integer({ minimum: 1, maximum: 10_000 }),
  preSendFallback: Type.Union([Type.Literal('pass'), Type.Literal('block')]),
  requestTimeoutMs: Type.Integer({ minimum: 1000 }),
  keepAliveTimeoutMs: Type.Integer({ minimum: 1 }),
  shutdownTimeoutMs: Type.Integer({ minimum: 1 }),
  sinks: Type.Array(Type.Union(SINK_NAMES.map(name => Type.Literal(name))), { minItems: 1 }),
  dataDir: Type.String({ minLength: 1 }),
  outboxSync: Type.Union([Type.Literal('full'), Type.Literal('normal')]),
  outboxWriteTimeoutMs: Type.Integer({ minimum: 1, maximum: 9000 }),
  outboxRetentionHours: Type.Integer({ minimum: 1 }),
  outboxRetainRows: Type.Integer({ minimum: 1 }),
  forwardUrl: Type.String(),
  forwardSecret: Type.String(),
  forwardTimeoutMs: Type.Integer({ minimum: 1 }),
  forwardConcurrency: Type.Integer({ minimum: 1, maximum: 1000 }),
  forwardRatePerSecond: Type.Integer({ minimum: 0 }),
  forwardMaxAttempts: Type.Integer({ minimum: 1 }),
  forwardMaxAgeHours: Type.Integer({ minimum: 1 }),
  forwardRetryBaseMs: Type.Integer({ minimum: 1 }),
  forwardRetryMaxMs: Type.Integer({ minimum: 1 }),
  adminToken: Type.String(),
  redisUrl: Type.String(),
  redisStream: Type.String({ minLength: 1 }),
  natsUrl: Type.String(),
  natsSubject: Type.String({ pattern: '^[^\\s*>.]+(\\.[^\\s*>.]+)*$' }),
  natsStream: Type.String({ pattern: '^[A-Za-z0-9_-]+$' }),
  metrics: Type.Boolean(),
  openapi: Type.Boolean()
})

export type ServiceConfig = Static<typeof ServiceConfig>

type Key = keyof ServiceConfig

/** Environment variable, config key, default, and what a valid value looks like (for messages and the README). */
export const ENVIRONMENT: ReadonlyArray<readonly [string, Key, string, string]> = [
  ['PORT', 'port', '8081', 'an integer from 1 to 65535'],
  ['HOST', 'host', '0.0.0.0', 'an address to listen on'],
  ['EASEMOB_SECRETS', 'secrets', '', 'comma-separated rule secrets, at least one'],
  ['EASEMOB_INSECURE_SKIP_SIGNATURE', 'insecureSkipSignature', 'false', '"true" or "false"'],
  ['EASEMOB_MAX_AGE_SECONDS', 'maxAgeSeconds', '300', 'a positive integer'],
  ['EASEMOB_MAX_FUTURE_SECONDS', 'maxFutureSeconds', '60', 'a positive integer'],
  ['EASEMOB_REPLAY_MAX_ENTRIES', 'replayMaxEntries', '100000', 'a positive integer'],
  ['EASEMOB_REPLAY_MAX_BYTES', 'replayMaxBytes', '33554432', 'bytes, an integer of at least 65536'],
  ['EASEMOB_OFFLINE_FAN_OUT_LIMIT', 'offlineFanOutLimit', '3000', 'a positive integer'],
  ['EASEMOB_HANDLER_TIMEOUT_MS', 'handlerTimeoutMs', '8000', 'milliseconds, an integer from 1 to 60000'],
  ['EASEMOB_BODY_LIMIT', 'bodyLimit', '262144', 'bytes, an integer of at least 1024'],
  ['LOG_LEVEL', 'logLevel', 'info', LOG_LEVELS.join(', ')],
  ['PRE_SEND_RULES', 'preSendRules', '', 'the path of a JSON or YAML rules file'],
  ['PRE_SEND_BUDGET_MS', 'preSendBudgetMs', '100', 'milliseconds, an integer from 1 to 10000'],
  ['PRE_SEND_FALLBACK', 'preSendFallback', 'pass', '"pass" or "block"'],
  ['REQUEST_TIMEOUT_MS', 'requestTimeoutMs', '10000', 'milliseconds, an integer of at least 1000'],
  ['KEEP_ALIVE_TIMEOUT_MS', 'keepAliveTimeoutMs', '5000', 'milliseconds, a positive integer'],
  ['SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs', '10000', 'milliseconds, a positive integer'],
  ['SINKS', 'sinks', 'log,sqlite', `a comma-separated list of ${SINK_NAMES.join(', ')}`],
  ['DATA_DIR', 'dataDir', './data', 'a directory for the outbox file'],
  ['OUTBOX_SYNC', 'outboxSync', 'full', '"full" or "normal"'],
  ['OUTBOX_WRITE_TIMEOUT_MS', 'outboxWriteTimeoutMs', '2000', 'milliseconds, an integer from 1 to 9000'],
  ['OUTBOX_RETENTION_HOURS', 'outboxRetentionHours', '24', 'a positive integer'],
  ['OUTBOX_RETAIN_ROWS', 'outboxRetainRows', '1000000', 'a positive integer'],
  ['FORWARD_URL', 'forwardUrl', '', 'an http:// or https:// URL'],
  ['FORWARD_SECRET', 'forwardSecret', '', 'a Standard Webhooks secret (whsec_ and base64)'],
  ['FORWARD_TIMEOUT_MS', 'forwardTimeoutMs', '10000', 'milliseconds, a positive integer'],
  ['FORWARD_CONCURRENCY', 'forwardConcurrency', '8', 'an integer from 1 to 1000'],
  ['FORWARD_RATE_PER_SECOND', 'forwardRatePerSecond', '1000', 'a non-negative integer (0: no bound)'],
  ['FORWARD_MAX_ATTEMPTS', 'forwardMaxAttempts', '20', 'a positive integer'],
  ['FORWARD_MAX_AGE_HOURS', 'forwardMaxAgeHours', '24', 'a positive integer'],
  ['FORWARD_RETRY_BASE_MS', 'forwardRetryBaseMs', '1000', 'milliseconds, a positive integer'],
  ['FORWARD_RETRY_MAX_MS', 'forwardRetryMaxMs', '600000', 'milliseconds, a positive integer'],
  ['ADMIN_TOKEN', 'adminToken', '', 'empty (admin routes off) or at least 16 characters'],
  ['REDIS_URL', 'redisUrl', '', 'a redis:// or rediss:// URL (shared duplicate memory; needed by the redis sink)'],
  ['REDIS_STREAM', 'redisStream', 'easemob:callbacks', 'a Redis key'],
  ['NATS_URL', 'natsUrl', '', 'nats://host:port (or tls://), comma-separated for a cluster'],
  ['NATS_SUBJECT', 'natsSubject', 'easemob.callbacks', 'a subject prefix: dot-separated tokens without spaces or wildcards'],
  ['NATS_STREAM', 'natsStream', 'EASEMOB_CALLBACKS', 'a stream name: letters, digits, - and _'],
  ['METRICS', 'metrics', 'true', '"true" or "false"'],
  ['OPENAPI', 'openapi', 'true', '"true" or "false"']
]

/** Earlier spellings still read, with a warning: old name, current name. */
export const RENAMED: ReadonlyArray<readonly [string, string]> = [
  ['PRESEND_RULES', 'PRE_SEND_RULES'],
  ['PRESEND_BUDGET_MS', 'PRE_SEND_BUDGET_MS'],
  ['PRESEND_FALLBACK', 'PRE_SEND_FALLBACK']
]

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map(problem => `  - ${problem}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const TEXT_KEYS = new Set<Key>([
  'host', 'logLevel', 'preSendRules', 'preSendFallback', 'dataDir', 'outboxSync', 'forwardUrl', 'forwardSecret', 'adminToken',
  'redisUrl', 'redisStream', 'natsUrl', 'natsSubject', 'natsStream'
])

function list (text: string): string[] {
  return text.split(',').map(item => item.trim()).filter(item => item.length > 0)
}

function parseValue (key: Key, text: string): unknown {
  if (key === 'secrets') return list(text)
  if (key === 'sinks') return [...new Set(list(text))]
  if (key === 'insecureSkipSignature' || key === 'metrics' || key === 'openapi') return text === 'true' ? true : text === 'false' ? false : text
  if (TEXT_KEYS.has(key)) return text
  return /^\s*\d+\s*$/.test(text) ? Number(text) : text
}

/** The environment with earlier variable names moved to the current ones; a warning for each. */
function renamed (env: NodeJS.ProcessEnv, warnings: string[]): NodeJS.ProcessEnv {
  const result = { ...env }
  for (const [old, current] of RENAMED) {
    if (env[old] === undefined) continue
    if (env[current] === undefined) {
      result[current] = env[old]
      warnings.push(`${old} is now called ${current}; please rename it`)
    } else {
      warnings.push(`${old} is ignored: ${current} is set`)
    }
  }
  return result
}

/**
 * Reads and checks the environment; every bad value is reported at once, by variable name.
 * `warnings` receives what is accepted but should change (earlier variable names).
 */
export function loadConfig (env: NodeJS.ProcessEnv, warnings: string[] = []): ServiceConfig {
  const current = renamed(env, warnings)
  const raw: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, key, fallback, expected] of ENVIRONMENT) {
    const text = current[name] ?? fallback
    const value = parseValue(key, text)
    raw[key] = value
    if (!Value.Check(ServiceConfig.properties[key], value)) problems.push(`${name}=${JSON.stringify(text)}: expected ${expected}`)
  }
  const config = raw as ServiceConfig
  if (Array.isArray(config.secrets) && config.secrets.length === 0 && config.insecureSkipSignature !== true) {
    problems.push('EASEMOB_SECRETS is not set: give the secret of each Easemob console rule that calls this service ' +
      '(or, for local development only, EASEMOB_INSECURE_SKIP_SIGNATURE=true)')
  }
  problems.push(...forwardingProblems(config), ...serverProblems(config))
  if (problems.length > 0) throw new ConfigError(problems)
  // Forwarding delivers from the outbox: `http` brings the outbox with it.
  if (config.sinks.includes('http') && !config.sinks.includes('sqlite')) config.sinks.push('sqlite')
  return config
}

/** What the variables that depend on each other say together. */
function forwardingProblems (config: ServiceConfig): string[] {
  const problems: string[] = []
  if (typeof config.adminToken === 'string' && config.adminToken.length > 0 && config.adminToken.length < 16) {
    problems.push('ADMIN_TOKEN is too short: use at least 16 random characters, or leave it unset to keep the admin routes off')
  }
  if (!Array.isArray(config.sinks) || !config.sinks.includes('http')) {
    if (config.forwardUrl !== '') problems.push('FORWARD_URL is set but SINKS does not include http: add it (SINKS=log,sqlite,http) or unset FORWARD_URL')
    return problems
  }
  let url: URL | undefined
  try {
    url = new URL(config.forwardUrl)
  } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push(`FORWARD_URL=${JSON.stringify(config.forwardUrl)}: SINKS includes http, so an http:// or https:// URL of your backend is required`)
  }
  try {
    void new Webhook(config.forwardSecret)
  } catch (error) {
    problems.push(`FORWARD_SECRET: SINKS includes http, so a Standard Webhooks secret is required (whsec_ followed by base64, e.g. from \`openssl rand -base64 32\`): ${(error as Error).message}`)
  }
  return problems
}

function withoutPassword (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//…@')
}

function urlProblem (name: string, text: string, protocols: readonly string[]): string | undefined {
  try {
    if (protocols.includes(new URL(text).protocol)) return undefined
  } catch {}
  return `${name}=${JSON.stringify(withoutPassword(text))}: expected a ${protocols.map(protocol => `${protocol}//`).join(' or ')} URL`
}

/** Redis and NATS: the URL each sink needs, and URLs that parse. Passwords are not repeated. */
function serverProblems (config: ServiceConfig): string[] {
  const problems: string[] = []
  if (!Array.isArray(config.sinks)) return problems
  if (config.sinks.includes('redis') && config.redisUrl === '') problems.push('REDIS_URL is not set: SINKS includes redis')
  if (config.sinks.includes('nats') && config.natsUrl === '') problems.push('NATS_URL is not set: SINKS includes nats')
  if (config.redisUrl !== '') {
    const problem = checkRedisUrl(config.redisUrl)
    if (problem !== undefined) problems.push(`REDIS_URL=${JSON.stringify(withoutPassword(config.redisUrl))}: ${problem}`)
  }
  if (config.natsUrl !== '') {
    for (const server of config.natsUrl.split(',')) {
      const problem = urlProblem('NATS_URL', server.trim().includes('://') ? server.trim() : `nats://${server.trim()}`, ['nats:', 'tls:'])
      if (problem !== undefined) problems.push(problem)
    }
  }
  return problems
}
