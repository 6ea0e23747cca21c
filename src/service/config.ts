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
  bodyLimit: Type.Integer({ minimum: 1024 }),
  logLevel: Type.Union(LOG_LEVELS.map(level => Type.Literal(level))),
  /** Path of the pre-send rules file; empty: no pre-send route. */
  presendRules: Type.String(),
  presendBudgetMs: Type.Integer({ minimum: 1, maximum: 10_000 }),
  presendFallback: Type.Union([Type.Literal('pass'), Type.Literal('block')])
})

export type ServiceConfig = Static<typeof ServiceConfig>

/** Environment variable, config key, default, and what a valid value looks like (for messages and the README). */
export const ENVIRONMENT = [
  ['PORT', 'port', '8081', 'an integer from 1 to 65535'],
  ['HOST', 'host', '0.0.0.0', 'an address to listen on'],
  ['EASEMOB_SECRETS', 'secrets', '', 'comma-separated rule secrets, at least one'],
  ['EASEMOB_INSECURE_SKIP_SIGNATURE', 'insecureSkipSignature', 'false', '"true" or "false"'],
  ['EASEMOB_MAX_AGE_SECONDS', 'maxAgeSeconds', '300', 'a positive integer'],
  ['EASEMOB_MAX_FUTURE_SECONDS', 'maxFutureSeconds', '60', 'a positive integer'],
  ['EASEMOB_REPLAY_MAX_ENTRIES', 'replayMaxEntries', '100000', 'a positive integer'],
  ['EASEMOB_BODY_LIMIT', 'bodyLimit', '262144', 'bytes, an integer of at least 1024'],
  ['LOG_LEVEL', 'logLevel', 'info', LOG_LEVELS.join(', ')],
  ['PRESEND_RULES', 'presendRules', '', 'the path of a JSON or YAML rules file'],
  ['PRESEND_BUDGET_MS', 'presendBudgetMs', '100', 'milliseconds, an integer from 1 to 10000'],
  ['PRESEND_FALLBACK', 'presendFallback', 'pass', '"pass" or "block"']
] as const

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map(problem => `  - ${problem}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

function parseValue (key: string, text: string): unknown {
  switch (key) {
    case 'secrets': return text.split(',').map(secret => secret.trim()).filter(secret => secret.length > 0)
    case 'insecureSkipSignature': return text === 'true' ? true : text === 'false' ? false : text
    case 'host':
    case 'logLevel':
    case 'presendRules':
    case 'presendFallback': return text
    default: return /^\s*\d+\s*$/.test(text) ? Number(text) : text
  }
}

/** Reads and checks the environment; every bad value is reported at once, by variable name. */
export function loadConfig (env: NodeJS.ProcessEnv): ServiceConfig {
  const raw: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, key, fallback, expected] of ENVIRONMENT) {
    const text = env[name] ?? fallback
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
