// npm run bench [-- options]: this project's service beside bare servers and hand-written receivers,
// under the same load. What and how: bench/README.md; the options: --help.
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { restamp } from '../src/samples.js'
import { callbackDeck, RequestPool, SECRET } from './bodies.js'
import { expectAnswer, isOk, type LoadResult, median, runLoad } from './load.js'
import { preSendBench } from './pre-send.js'
import { build, builtServer, pin, SERVICE, type ServerRow, startServer } from './processes.js'

/** The servers compared, in table order; --only picks by id. A variant (the service with other env, say) is one more row. */
const SERVERS: ServerRow[] = [
  { id: 'node-http', name: '1. bare node:http', script: builtServer('node-http'), checksSignature: false },
  { id: 'fastify', name: '2. bare Fastify', script: builtServer('fastify'), checksSignature: false },
  { id: 'minimal', name: '3. minimal receiver: Fastify, md5, 1 log line', script: builtServer('fastify-md5'), checksSignature: true },
  { id: 'full', name: '4. full path: the service, SINKS=log', ...SERVICE, checksSignature: true },
  { id: 'full-sqlite', name: '4b. the service, SINKS=log,sqlite (its default)', ...SERVICE, env: { ...SERVICE.env, SINKS: 'log,sqlite' }, checksSignature: true, versus: 'full' },
  // The machine's own Redis and NATS on loopback, with streams of the benchmark's own (bounded by length and age).
  { id: 'redis', name: '4c. the service, SINKS=log,redis (REDIS_URL: shared memory + stream)', ...SERVICE, env: { ...SERVICE.env, SINKS: 'log,redis', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_STREAM: 'bench:easemob:callbacks' }, checksSignature: true, versus: 'full' },
  { id: 'nats', name: '4d. the service, SINKS=log,nats (JetStream)', ...SERVICE, env: { ...SERVICE.env, SINKS: 'log,nats', NATS_URL: 'nats://127.0.0.1:4222', NATS_SUBJECT: 'bench.easemob', NATS_STREAM: 'BENCH_EASEMOB' }, checksSignature: true, versus: 'full' },
  { id: 'express', name: '5. Express 5 receiver', script: builtServer('express'), checksSignature: true }
]
/** The ratios' denominator. */
const BASELINE = 'fastify'
/** Requests signed for one timed run: for at least this rate (a short warm-up says little), at most the cap (~600 bytes each). */
const POOL_FLOOR_RPS = 25_000
const POOL_CAP = 2_000_000

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string', default: SERVERS.map(row => row.id).join(',') },
    'pre-send': { type: 'boolean', default: false },
    requests: { type: 'string', default: '20000' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (opt.help) {
  process.stdout.write(`npm run bench -- [options]           (bench/README.md says what is measured and how)
  --rounds N        rounds; each server a fresh process per round, the order rotating (3)
  --duration S      timed seconds per server and round (8)
  --warmup S        seconds of load before each timed run, not counted (3)
  --connections N   autocannon connections, pipelining 1 (64)
  --only a,b        servers, from ${SERVERS.map(row => row.id).join(', ')}
  --json FILE       also write the summary to FILE
  --pre-send        instead: the service's pre-send latency, 5,000-word rules file against none
  --requests N      pre-send requests per round (20000)
`)
  process.exit(0)
}
function positive (name: 'rounds' | 'duration' | 'warmup' | 'connections' | 'requests'): number {
  const value = Number(opt[name])
  if (!(value > 0)) throw new Error(`--${name} must be a positive number, got ${opt[name]}`)
  return value
}
const [rounds, duration, warmup, connections] = [positive('rounds'), positive('duration'), positive('warmup'), positive('connections')]
const rows = opt.only.split(',').map(id => {
  const row = SERVERS.find(candidate => candidate.id === id.trim())
  if (row === undefined) throw new Error(`--only: no server ${id}; there are ${SERVERS.map(r => r.id).join(', ')}`)
  return row
})
const log = (text: string): void => { process.stderr.write(text + '\n') }
const fmt = (x: number, digits = 2): string => Number.isFinite(x) ? x.toFixed(digits) : '–'

build()
const pinning = pin()
log(pinning.note)
if (opt['pre-send']) {
  const { markdown, bad } = await preSendBench({ rounds, requests: positive('requests'), wrap: pinning.wrap, log })
  process.stdout.write(markdown + '\n')
  process.exit(bad > 0 ? 1 : 0)
}
const deck = callbackDeck()
const bestRps = new Map<string, number>()

/** One round of one server: a fresh process, the pre-flight, a warm-up, then the timed run on pre-signed requests. */
async function measure (row: ServerRow, round: number): Promise<LoadResult> {
  const server = await startServer(row, pinning.wrap)
  try {
    const fresh = (): object => restamp(deck[0], SECRET, { callId: `${deck[0].callId}-preflight-${Math.random()}` })
    await expectAnswer(server.url, 'a valid callback', fresh(), 200, isOk)
    if (row.checksSignature) await expectAnswer(server.url, 'a forged signature', { ...fresh(), security: '0'.repeat(32) }, 401)
    const pool = (phase: string): RequestPool => new RequestPool(deck, server.host, '/', `r${round}${phase}`)
    const load = { url: server.url, check: isOk, connections }
    const warm = await runLoad({ ...load, pool: pool('w'), duration: warmup })
    // Twice the best rate seen: the warm-up, signing its requests as it goes, understates it.
    const rate = Math.max(POOL_FLOOR_RPS, 2 * warm.rps, 2 * (bestRps.get(row.id) ?? 0))
    const result = await runLoad({ ...load, pool: pool('t').fill(Math.min(POOL_CAP, Math.ceil(rate * duration))), duration })
    bestRps.set(row.id, Math.max(result.rps, bestRps.get(row.id) ?? 0))
    for (const [problem, n] of warm.problems) result.problems.set(`warm-up: ${problem}`, n)
    result.bad += warm.bad
    log(`  ${row.name}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms` +
      (result.bad > 0 ? `, ${result.bad} WRONG: ${JSON.stringify(Object.fromEntries(result.problems))}` : '') +
      (result.signedLive > 0 ? `, the pool ran out: ${result.signedLive} requests signed during the timed run` : ''))
    return result
  } finally {
    await server.stop()
  }
}

const runs = new Map<string, LoadResult[]>(rows.map(row => [row.id, []]))
for (let round = 0; round < rounds; round++) {
  const order = rows.map((_, i) => rows[(i + round) % rows.length])
  log(`round ${round + 1}/${rounds}: ${order.map(row => row.id).join(' → ')}`)
  for (const row of order) runs.get(row.id)?.push(await measure(row, round))
}

const summaries = rows.map(({ id, name }) => {
  const results = runs.get(id) ?? []
  const sum = (key: 'bad' | 'signedLive'): number => results.reduce((total, r) => total + r[key], 0)
  const mid = (key: 'rps' | 'p50' | 'p99'): number => median(results.map(r => r[key]))
  return { id, name, rps: mid('rps'), p50: mid('p50'), p99: mid('p99'), bad: sum('bad'), signedLive: sum('signedLive') }
})
const base = summaries.find(s => s.id === BASELINE) ?? { rps: NaN, p99: NaN }
const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`
process.stdout.write([
  '| server | req/s | p50 ms | p99 ms | errors / not ok | req/s ÷ bare Fastify | p99 ÷ bare Fastify |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...summaries.map(s => `| ${s.name} | ${fmt(s.rps, 0)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${s.bad} | ${fmt(s.rps / base.rps)} | ${fmt(s.p99 / base.p99)} |`),
  '',
  `Machine: ${machine}; ${pinning.note}. Medians of ${rounds} round(s) of ${warmup} s warm-up + ${duration} s, ` +
  `${connections} connections, pipelining 1, a fresh callId per request.`,
  ...rows.filter(row => row.versus !== undefined).map(row => {
    const [one, other] = [summaries.find(s => s.id === row.id), summaries.find(s => s.id === row.versus)]
    return one === undefined || other === undefined ? '' : `${one.name} ÷ ${other.name}: req/s ${fmt(one.rps / other.rps)}, p99 ${fmt(one.p99 / other.p99)}.`
  }),
  ...summaries.filter(s => s.signedLive > 0).map(s => `${s.name}: the pre-signed pool ran out; ${s.signedLive} requests were signed during timed runs.`)
].join('\n') + '\n')
if (opt.json !== undefined) {
  writeFileSync(opt.json, JSON.stringify({ date: new Date().toISOString(), machine, pinning: pinning.note, rounds, duration, warmup, connections, summaries }, null, 2) + '\n')
}
process.exitCode = summaries.some(s => s.bad > 0) ? 1 : 0
