// The standalone service: configuration from the environment, and the app it builds.
import t from 'tap'
import { buildService } from '../service/app.js'
import { ConfigError, loadConfig, type ServiceConfig } from '../service/config.js'
import { LEVEL, logCapture, NOW, post, recorder, sample, signed } from './helpers/callbacks.js'

function problemsOf (env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('loadConfig: defaults', async t => {
  const config = loadConfig({ EASEMOB_SECRETS: 's1' })
  t.same(config, {
    port: 8081,
    host: '0.0.0.0',
    secrets: ['s1'],
    insecureSkipSignature: false,
    maxAgeSeconds: 300,
    maxFutureSeconds: 60,
    replayMaxEntries: 100_000,
    replayMaxBytes: 33_554_432,
    offlineFanOutLimit: 3000,
    handlerTimeoutMs: 8000,
    bodyLimit: 262_144,
    logLevel: 'info',
    preSendRules: '',
    preSendBudgetMs: 100,
    preSendFallback: 'pass',
    requestTimeoutMs: 10_000,
    keepAliveTimeoutMs: 5000,
    shutdownTimeoutMs: 10_000,
    sinks: ['log', 'sqlite'],
    dataDir: './data',
    outboxSync: 'full',
    outboxWriteTimeoutMs: 2000,
    outboxRetentionHours: 24,
    outboxRetainRows: 1_000_000,
    forwardUrl: '',
    forwardSecret: '',
    forwardTimeoutMs: 10_000,
    forwardConcurrency: 8,
    forwardRatePerSecond: 1000,
    forwardMaxAttempts: 20,
    forwardMaxAgeHours: 24,
    forwardRetryBaseMs: 1000,
    forwardRetryMaxMs: 600_000,
    adminToken: '',
    redisUrl: '',
    redisStream: 'easemob:callbacks',
    natsUrl: '',
    natsSubject: 'easemob.callbacks',
    natsStream: 'EASEMOB_CALLBACKS',
    metrics: true,
    openapi: true
  })
})

t.test('loadConfig: EASEMOB_SECRETS is a trimmed comma list', async t => {
  t.same(loadConfig({ EASEMOB_SECRETS: ' new-secret , old-secret ,, ' }).secrets, ['new-secret', 'old-secret'])
  t.same(loadConfig({ EASEMOB_SECRETS: 'one' }).secrets, ['one'])
})

t.test('loadConfig: every variable is read', async t => {
  const config = loadConfig({
    PORT: '9000',
    HOST: '127.0.0.1',
    EASEMOB_SECRETS: 'a,b',
    EASEMOB_INSECURE_SKIP_SIGNATURE: 'false',
    EASEMOB_MAX_AGE_SECONDS: '120',
    EASEMOB_MAX_FUTURE_SECONDS: '5',
    EASEMOB_REPLAY_MAX_ENTRIES: '50',
    EASEMOB_REPLAY_MAX_BYTES: '100000',
    EASEMOB_OFFLINE_FAN_OUT_LIMIT: '500',
    EASEMOB_HANDLER_TIMEOUT_MS: '2000',
    EASEMOB_BODY_LIMIT: '4096',
    LOG_LEVEL: 'debug',
    PRE_SEND_RULES: 'rules.yaml',
    PRE_SEND_BUDGET_MS: '80',
    PRE_SEND_FALLBACK: 'block',
    REQUEST_TIMEOUT_MS: '3000',
    KEEP_ALIVE_TIMEOUT_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '4000',
    SINKS: ' http , log ',
    DATA_DIR: '/var/lib/easemob',
    OUTBOX_SYNC: 'normal',
    OUTBOX_WRITE_TIMEOUT_MS: '500',
    OUTBOX_RETENTION_HOURS: '2',
    OUTBOX_RETAIN_ROWS: '10',
    FORWARD_URL: 'https://backend.example/easemob',
    FORWARD_SECRET: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
    FORWARD_TIMEOUT_MS: '3000',
    FORWARD_CONCURRENCY: '2',
    FORWARD_RATE_PER_SECOND: '0',
    FORWARD_MAX_ATTEMPTS: '3',
    FORWARD_MAX_AGE_HOURS: '1',
    FORWARD_RETRY_BASE_MS: '10',
    FORWARD_RETRY_MAX_MS: '100',
    ADMIN_TOKEN: 'an-admin-token-of-some-length',
    REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
    REDIS_STREAM: 'acme:easemob',
    NATS_URL: 'nats://a:4222, nats://b:4222',
    NATS_SUBJECT: 'acme.easemob',
    NATS_STREAM: 'ACME_EASEMOB',
    METRICS: 'false',
    OPENAPI: 'false'
  })
  t.same(config, {
    port: 9000,
    host: '127.0.0.1',
    secrets: ['a', 'b'],
    insecureSkipSignature: false,
    maxAgeSeconds: 120,
    maxFutureSeconds: 5,
    replayMaxEntries: 50,
    replayMaxBytes: 100_000,
    offlineFanOutLimit: 500,
    handlerTimeoutMs: 2000,
    bodyLimit: 4096,
    logLevel: 'debug',
    preSendRules: 'rules.yaml',
    preSendBudgetMs: 80,
    preSendFallback: 'block',
    requestTimeoutMs: 3000,
    keepAliveTimeoutMs: 1000,
    shutdownTimeoutMs: 4000,
    sinks: ['http', 'log', 'sqlite'],
    dataDir: '/var/lib/easemob',
    outboxSync: 'normal',
    outboxWriteTimeoutMs: 500,
    outboxRetentionHours: 2,
    outboxRetainRows: 10,
    forwardUrl: 'https://backend.example/easemob',
    forwardSecret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
    forwardTimeoutMs: 3000,
    forwardConcurrency: 2,
    forwardRatePerSecond: 0,
    forwardMaxAttempts: 3,
    forwardMaxAgeHours: 1,
    forwardRetryBaseMs: 10,
    forwardRetryMaxMs: 100,
    adminToken: 'an-admin-token-of-some-length',
    redisUrl: 'rediss://user:pw@redis.example:6380/2',
    redisStream: 'acme:easemob',
    natsUrl: 'nats://a:4222, nats://b:4222',
    natsSubject: 'acme.easemob',
    natsStream: 'ACME_EASEMOB',
    metrics: false,
    openapi: false
  })
})

t.test('loadConfig: forwarding needs a URL and a Standard Webhooks secret, and brings the outbox', async t => {
  const problems = problemsOf({ EASEMOB_SECRETS: 's', SINKS: 'log,http', FORWARD_SECRET: 'not base64!' })
  t.equal(problems.length, 2)
  t.match(problems[0], /^FORWARD_URL="": SINKS includes http/)
  t.match(problems[1], /^FORWARD_SECRET: SINKS includes http/)
  t.notMatch(problems[1], 'not base64!', 'the secret is not repeated')
  t.match(problemsOf({ EASEMOB_SECRETS: 's', SINKS: 'http', FORWARD_URL: 'ftp://x', FORWARD_SECRET: 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==' }), [/^FORWARD_URL="ftp:\/\/x"/])
  t.match(problemsOf({ EASEMOB_SECRETS: 's', FORWARD_URL: 'https://x' }), [/FORWARD_URL is set but SINKS does not include http/])
  t.match(problemsOf({ EASEMOB_SECRETS: 's', ADMIN_TOKEN: 'short' }), [/ADMIN_TOKEN is too short/])
  const config = loadConfig({ EASEMOB_SECRETS: 's', SINKS: 'http', FORWARD_URL: 'https://x', FORWARD_SECRET: 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==' })
  t.same(config.sinks, ['http', 'sqlite'], 'http implies the outbox')
})

t.test('loadConfig: the redis and nats sinks need their URLs; passwords are not repeated', async t => {
  t.same(problemsOf({ EASEMOB_SECRETS: 's', SINKS: 'redis,nats' }), ['REDIS_URL is not set: SINKS includes redis', 'NATS_URL is not set: SINKS includes nats'])
  t.same(problemsOf({ EASEMOB_SECRETS: 's', REDIS_URL: 'http://user:secret-pw@redis' }), ['REDIS_URL="http://…@redis": has scheme http; expected redis:// or rediss:// (TLS)'])
})

t.test('loadConfig: the earlier PRESEND_* names are read, with a warning', async t => {
  const warnings: string[] = []
  const config = loadConfig({ EASEMOB_SECRETS: 's', PRESEND_RULES: 'old.yaml', PRESEND_FALLBACK: 'block', PRE_SEND_FALLBACK: 'pass' }, warnings)
  t.equal(config.preSendRules, 'old.yaml')
  t.equal(config.preSendFallback, 'pass', 'the current name wins')
  t.same(warnings, ['PRESEND_RULES is now called PRE_SEND_RULES; please rename it', 'PRESEND_FALLBACK is ignored: PRE_SEND_FALLBACK is set'])
  t.same(problemsOf({ EASEMOB_SECRETS: 's', PRESEND_BUDGET_MS: '0' }), ['PRE_SEND_BUDGET_MS="0": expected milliseconds, an integer from 1 to 10000'])
})

const BAD_VALUES: Array<[string, string]> = [
  ['PORT', 'abc'],
  ['PORT', '0'],
  ['PORT', '70000'],
  ['LOG_LEVEL', 'loud'],
  ['EASEMOB_MAX_AGE_SECONDS', '0'],
  ['EASEMOB_MAX_AGE_SECONDS', '-5'],
  ['EASEMOB_MAX_FUTURE_SECONDS', '1.5'],
  ['EASEMOB_INSECURE_SKIP_SIGNATURE', 'yes'],
  ['EASEMOB_INSECURE_SKIP_SIGNATURE', '1'],
  ['EASEMOB_REPLAY_MAX_ENTRIES', 'many'],
  ['EASEMOB_BODY_LIMIT', '100'],
  ['HOST', ''],
  ['PRE_SEND_BUDGET_MS', '0'],
  ['PRE_SEND_FALLBACK', 'maybe'],
  ['EASEMOB_REPLAY_MAX_BYTES', '1000'],
  ['EASEMOB_HANDLER_TIMEOUT_MS', '0'],
  ['REQUEST_TIMEOUT_MS', '10'],
  ['SHUTDOWN_TIMEOUT_MS', 'soon'],
  ['SINKS', 'log,kafka'],
  ['SINKS', ''],
  ['OUTBOX_SYNC', 'off'],
  ['FORWARD_CONCURRENCY', '0'],
  ['REDIS_URL', 'http://redis'],
  ['NATS_URL', 'http://nats'],
  ['NATS_SUBJECT', 'a.*'],
  ['NATS_SUBJECT', 'a..b'],
  ['NATS_STREAM', 'no spaces']
]

for (const [name, value] of BAD_VALUES) {
  t.test(`loadConfig: ${name}=${JSON.stringify(value)} is reported by variable name`, async t => {
    t.throws(() => loadConfig({ EASEMOB_SECRETS: 's', [name]: value }), ConfigError)
    const problems = problemsOf({ EASEMOB_SECRETS: 's', [name]: value })
    t.equal(problems.length, 1, 'exactly one problem')
    t.ok(problems[0].startsWith(`${name}=${JSON.stringify(value)}`), problems[0])
    t.match(problems[0], /expected/)
  })
}

t.test('loadConfig: several problems are reported at once', async t => {
  const env = { PORT: 'abc', LOG_LEVEL: 'loud', EASEMOB_MAX_AGE_SECONDS: '0', EASEMOB_INSECURE_SKIP_SIGNATURE: 'yes' }
  const problems = problemsOf(env)
  t.equal(problems.length, 5, "the four bad values and the missing secrets")
  for (const name of Object.keys(env)) t.ok(problems.some(problem => problem.startsWith(`${name}=`)), name)
  const error = (() => { try { loadConfig(env) } catch (e) { return e as Error } })()
  t.type(error, ConfigError)
  t.equal(error?.name, 'ConfigError')
  for (const name of Object.keys(env)) t.match(error?.message, name, 'the message lists every variable')
})

t.test('loadConfig: missing secrets are refused unless the insecure switch is on', async t => {
  for (const env of [{}, { EASEMOB_SECRETS: '' }, { EASEMOB_SECRETS: ' , ,' }, { EASEMOB_INSECURE_SKIP_SIGNATURE: 'false' }]) {
    const problems = problemsOf(env)
    t.equal(problems.length, 1, JSON.stringify(env))
    t.match(problems[0], /EASEMOB_SECRETS/)
    t.match(problems[0], /EASEMOB_INSECURE_SKIP_SIGNATURE=true/, 'names the way out')
  }
  const insecure = loadConfig({ EASEMOB_INSECURE_SKIP_SIGNATURE: 'true' })
  t.equal(insecure.insecureSkipSignature, true)
  t.same(insecure.secrets, [])
})

t.test('loadConfig does not read process.env by itself', async t => {
  t.throws(() => loadConfig({}), ConfigError)
})

function config (overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return { ...loadConfig({ EASEMOB_SECRETS: 'test-secret', SINKS: 'log' }), ...overrides }
}

t.test('buildService answers GET /healthz and POST / with a signed sample', async t => {
  const app = await buildService(config(), { logger: false, now: () => NOW })
  t.teardown(() => app.close())
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })

  const res = await post(app, signed(sample('post_chat_txt')))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
  t.same((await post(app, signed(sample('post_chat_txt')))).json(), { status: 'duplicate' })
  t.equal((await post(app, signed(sample('post_chat_txt'), { secret: 'other', callId: 'x' }))).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/elsewhere' })).statusCode, 404)
})

t.test('buildService takes every sample', async t => {
  const rec = recorder(['*'])
  const app = await buildService(config(), { logger: false, now: () => NOW, handlers: rec.handlers })
  t.teardown(() => app.close())
  for (const name of ['post_chat_txt', 'post_group_create', 'post_user_login', 'post_recall', 'legacy_sample_project_video_as_audio']) {
    t.equal((await post(app, signed(sample(name)))).statusCode, 200, name)
  }
  t.equal(rec.calls.length, 5)
})

t.test('buildService applies the configuration', async t => {
  const app = await buildService(config({ secrets: ['rotated', 'test-secret'], maxAgeSeconds: 10, bodyLimit: 2048 }), { logger: false, now: () => NOW })
  t.teardown(() => app.close())
  t.equal((await post(app, signed(sample('post_chat_txt'), { secret: 'rotated', callId: 'r' }))).statusCode, 200, 'both secrets')
  t.same((await post(app, signed(sample('post_chat_txt'), { callId: 'old', timestamp: NOW - 10_001 }))).json(), { status: 'stale' }, 'maxAgeSeconds in seconds')
  t.same((await post(app, signed(sample('post_chat_txt'), { callId: 'fresh', timestamp: NOW - 10_000 }))).json(), { status: 'ok' })
  const big = signed({ ...sample('post_chat_txt'), callId: 'big', pad: 'x'.repeat(2048) })
  t.equal((await post(app, big)).statusCode, 413, 'bodyLimit')
})

t.test('buildService with the insecure switch takes unsigned callbacks', async t => {
  const app = await buildService(config({ secrets: [], insecureSkipSignature: true }), { logger: false, now: () => NOW })
  t.teardown(() => app.close())
  const body: Record<string, unknown> = { ...sample('post_chat_txt'), timestamp: NOW }
  delete body.security
  t.equal((await post(app, JSON.stringify(body))).statusCode, 200)
})

t.test('buildService logs one line per callback and nothing for health checks', async t => {
  const logs = logCapture()
  const app = await buildService(config(), { logger: { level: 'info', stream: logs.stream }, now: () => NOW })
  t.teardown(() => app.close())
  await app.inject({ method: 'GET', url: '/healthz' })
  await post(app, signed(sample('post_chat_txt')))
  const lines = logs.lines.filter(line => line.level >= LEVEL.info)
  t.equal(lines.length, 1, 'request logging is off; the plugin\'s line is the only one')
  t.equal(lines[0]?.msg, 'easemob callback')
  t.equal(lines[0]?.callId, sample('post_chat_txt').callId)
  t.notMatch(logs.text(), 'hello bob')
})
