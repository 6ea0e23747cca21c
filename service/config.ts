import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

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
  shutdownTimeoutMs: Type.Integer({ minimum: 1 })
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
  ['SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs', '10000', 'milliseconds, a positive integer']
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

const TEXT_KEYS = new Set<Key>(['host', 'logLevel', 'preSendRules', 'preSendFallback'])

function parseValue (key: Key, text: string): unknown {
  if (key === 'secrets') return text.split(',').map(secret => secret.trim()).filter(secret => secret.length > 0)
  if (key === 'insecureSkipSignature') return text === 'true' ? true : text === 'false' ? false : text
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
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
