// npm run bench [-- options]        side-by-side comparison (default; --help lists the options)
// npm run bench -- --long          memory under continuous distinct callIds, full path only
// npm run bench -- --profile       one CPU profile of the full path under load, summarised
//
// Runs under `node --expose-gc --import tsx`; the servers are compiled with tsc first (bench/.build)
// and run as plain node, so no TypeScript loader sits in their memory or profile. This process is
// the load generator (autocannon, in-process) and is pinned to CPU 1; every server to CPU 0.
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem, availableParallelism } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { restamp } from '../src/samples.js'
import { type Feed, OK_BODY, runLoad, type LoadResult } from './lib/load.js'
import { BodySource, buildMix, httpRequest, SECRET, type Mix } from './lib/mix.js'
import {
  allowedCpus, BENCH_DIR, buildServers, choosePinning, cpuTimes, CLOCK_TICKS, pinSelf, ROOT,
  SERVER_IDS, ServerProcess, waitForQuiet, type Pinning, type ServerId, type ServerStats
} from './lib/proc.js'
import { profileMarkdown, summarise } from './lib/profile.js'
import { fmt, int, mb, median, slope } from './lib/stats.js'
import { LINE_VARIANTS } from './servers/line-variants.js'

const LABELS: Record<ServerId, string> = {
  'node-http': '1. bare node:http (floor)',
  'fastify-bare': '2. bare Fastify',
  'fastify-handwritten': '2b. hand-written Fastify receiver: md5 check + log line',
  full: '3. fastify-easemob-callback, full path',
  express: '4. Express 5 peer'
}

// ---------------------------------------------------------------------------------------------
// Options

const env = process.env
const { values: args } = parseArgs({
  options: {
    long: { type: 'boolean', default: env.BENCH_LONG === '1' },
    profile: { type: 'boolean', default: env.BENCH_PROFILE === '1' },
    rounds: { type: 'string', default: env.BENCH_ROUNDS ?? '3' },
    duration: { type: 'string', default: env.BENCH_DURATION ?? '8' },
    warmup: { type: 'string', default: env.BENCH_WARMUP ?? '3' },
    connections: { type: 'string', default: env.BENCH_CONNECTIONS ?? '64' },
    only: { type: 'string', default: env.BENCH_ONLY ?? SERVER_IDS.join(',') },
    minutes: { type: 'string', default: env.BENCH_MINUTES ?? '5' },
    'replay-max': { type: 'string', default: env.BENCH_REPLAY_MAX ?? '20000' },
    'sample-every': { type: 'string', default: env.BENCH_SAMPLE_EVERY ?? '10' },
    'profile-servers': { type: 'string', default: env.BENCH_PROFILE_SERVERS ?? 'full' },
    'no-pin': { type: 'boolean', default: env.BENCH_NO_PIN === '1' },
    quiet: { type: 'string', default: env.BENCH_QUIET ?? '15' },
    'quiet-wait': { type: 'string', default: env.BENCH_QUIET_WAIT ?? '180' },
    retries: { type: 'string', default: env.BENCH_RETRIES ?? '2' },
    feed: { type: 'string', default: env.BENCH_FEED ?? 'raw' },
    logger: { type: 'string', default: env.BENCH_LOG_LEVEL ?? 'info' },
    '2b-line': { type: 'string', default: env.BENCH_2B_LINE ?? 'pino' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (args.help) {
  process.stdout.write(`npm run bench -- [options]
  --rounds N          rounds, servers alternate each round (3)
  --duration S        timed seconds per server per round (8)
  --warmup S          warm-up seconds before each timed run, not counted (3)
  --connections N     autocannon connections, pipelining 1 (64)
  --only a,b          servers: ${SERVER_IDS.join(',')}
  --long              memory mode: the full path for --minutes (5) under continuous distinct callIds,
                      replayMaxEntries --replay-max (20000), sampled every --sample-every s (10)
  --profile           node --cpu-prof on --profile-servers (full) under load, then summarise
  --feed raw|setup    raw: pre-built HTTP requests handed to autocannon's connections (default);
                      setup: autocannon's documented setupRequest (more load-generator CPU per request)
  --no-pin            do not pin (taskset) server and load generator
  --quiet PCT         before each timed run wait until other processes use at most PCT% of a core (15)
  --quiet-wait S      ... but no longer than S seconds (180; 0 = do not wait)
  --retries N         repeat a timed run (fresh server) when others took >10% of a pinned core during it (2)
  --logger LEVEL      logger of servers 2, 2b and 3, all set up like the service (pino JSON to /dev/null,
                      Fastify's own request lines off): info (default; 3 writes its one line per
                      callback), warn (3 logs only what it does not take) or off (no logger at all)
  --2b-line V         server 2b's log line, taken apart: pino (default: request.log.info through the
                      service's destination), no-write (the pino call, line dropped), template (the
                      same line built by hand and written, no pino call) or none (md5 check only)
  --out FILE          JSON result file (default bench/results/latest.json for a full comparison)
Environment: BENCH_NODE_ARGS (extra node flags for every server of the comparison, e.g. --single-threaded-gc), BENCH_LONG=1, BENCH_PROFILE=1, BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_MINUTES, ...
`)
  process.exit(0)
}

if (!['info', 'warn', 'off'].includes(args.logger as string)) throw new Error(`--logger must be info, warn or off, got ${String(args.logger)}`)
// Servers 2, 2b and 3 read it from their environment (bench/servers/logging.ts).
process.env.BENCH_LOG_LEVEL = args.logger
if (!(LINE_VARIANTS as readonly string[]).includes(args['2b-line'])) throw new Error(`--2b-line must be one of ${LINE_VARIANTS.join(', ')}, got ${args['2b-line']}`)
process.env.BENCH_2B_LINE = args['2b-line']
if (args['2b-line'] !== 'pino') LABELS['fastify-handwritten'] = `2b. hand-written Fastify receiver: md5 check, log line: ${args['2b-line']}`

function positive (name: string, text: string): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${text}`)
  return n
}

const rounds = Math.round(positive('rounds', args.rounds))
const durationSec = positive('duration', args.duration)
const warmupSec = positive('warmup', args.warmup)
const connections = Math.round(positive('connections', args.connections))
const only = args.only.split(',').map(s => s.trim()).filter(Boolean) as ServerId[]
for (const id of only) if (!SERVER_IDS.includes(id)) throw new Error(`--only: unknown server ${id}; known: ${SERVER_IDS.join(', ')}`)

// Before pinning this process to one CPU (after it, availableParallelism() says 1).
const NPROC = availableParallelism()
const LOAD_AT_START = loadavg().map(x => Math.round(x * 100) / 100)
const quietPct = positive('quiet', args.quiet)
const quietWaitSec = Number(args['quiet-wait'])
const retries = Math.max(0, Math.round(Number(args.retries)))

if (args.feed !== 'raw' && args.feed !== 'setup') throw new Error(`--feed must be raw or setup, got ${args.feed}`)
const feed = args.feed as Feed

const RESULTS_DIR = join(BENCH_DIR, 'results')
mkdirSync(RESULTS_DIR, { recursive: true })

const log = (text: string): void => { process.stderr.write(text + '\n') }
const gc = (): void => { (globalThis as { gc?: () => void }).gc?.() }
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Machine and set-up facts

function packageVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

function machine (pinning: Pinning): Record<string, unknown> {
  return {
    nproc: NPROC,
    cpuModel: cpus()[0]?.model ?? '?',
    node: process.version,
    kernel: release(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: LOAD_AT_START,
    versions: { fastify: packageVersion('fastify'), express: packageVersion('express'), autocannon: packageVersion('autocannon'), pino: packageVersion('pino') },
    pinning: pinning.note,
    loadgenCpus: allowedCpus(process.pid)
  }
}

// ---------------------------------------------------------------------------------------------
// Pre-flight: a broken setup (wrong secret, stale clock, duplicates) must not give fake-fast numbers.

interface Check { name: string, expect: string, got: string, pass: boolean }

async function send (url: string, body: string): Promise<{ status: number, text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  return { status: response.status, text: await response.text() }
}

/** The servers that verify the md5 signature, and so must answer a forged one with 401. */
const CHECKS_SIGNATURES = new Set<ServerId>(['fastify-handwritten', 'full', 'express'])

async function preflight (server: ServerProcess, mix: Mix): Promise<Check[]> {
  const checks: Check[] = []
  const check = async (name: string, body: string, expectStatus: number, expectBody?: string): Promise<void> => {
    const got = await send(server.url, body)
    const pass = got.status === expectStatus && (expectBody === undefined || got.text === expectBody)
    checks.push({ name, expect: `${expectStatus}${expectBody === undefined ? '' : ' ' + expectBody}`, got: `${got.status} ${got.text.slice(0, 120)}`, pass })
  }
  const sample = mix.samples[0]
  const good = JSON.stringify(restamp(sample, SECRET, { callId: `${sample.callId}-preflight-${server.id}-${Date.now()}` }))
  await check('signed, fresh callback', good, 200, OK_BODY)
  if (CHECKS_SIGNATURES.has(server.id)) {
    const forged = { ...JSON.parse(good) as Record<string, unknown>, security: '0'.repeat(32) }
    await check('wrong signature', JSON.stringify(forged), 401)
  }
  if (server.id === 'full') {
    await check('same callId again', good, 200, '{"status":"duplicate"}')
    const old = JSON.stringify(restamp(sample, SECRET, { timestamp: Date.now() - 10 * 60_000, callId: `${sample.callId}-preflight-stale` }))
    await check('10 minutes old', old, 200, '{"status":"stale"}')
  }
  const failed = checks.filter(c => !c.pass)
  if (failed.length > 0) {
    throw new Error(`${server.id}: pre-flight failed, the numbers would mean nothing:\n` +
      failed.map(c => `  ${c.name}: expected ${c.expect}, got ${c.got}`).join('\n'))
  }
  return checks
}

/** Distinct signed bodies for one phase; with the raw feed, pre-framed as whole HTTP requests. */
function newSource (server: ServerProcess, mix: Mix, tag: string): BodySource {
  const host = `127.0.0.1:${server.port}`
  return new BodySource(mix, tag, feed === 'raw' ? body => httpRequest(host, body) : undefined)
}

// ---------------------------------------------------------------------------------------------
// One timed run of one server

interface RunRecord {
  round: number
  position: number
  server: ServerId
  warmupRps: number
  warmupResponses: number
  poolSize: number
  poolUsed: number
  liveSigned: number
  rps: number
  latencyMs: LoadResult['latencyMs']
  responses: number
  elapsedSec: number
  non2xx: number
  errors: number
  timeouts: number
  notOk: number
  bodies: Record<string, number>
  rssMB: number
  heapUsedMB: number
  serverCpuPct: number
  serverEluPct: number
  loadgenCpuPct: number
  /** Busy time on the server's CPU not accounted to the server process (other load, softirq), % of wall. */
  serverCoreOtherPct: number | undefined
  /** Same for the load generator's CPU. */
  loadgenCoreOtherPct: number | undefined
  quietWaitSec: number
  machineBusyBeforePct: number | undefined
  serverCpus: string | undefined
  autocannon: LoadResult['autocannon']
  /** Answers per whole second of the timed run. */
  perSecond: number[]
  preflight: Check[]
}

const bestRps = new Map<ServerId, number>()
const POOL_CAP = 1_500_000
/** Before a server's first timed run its rate is unknown (a short cold warm-up says little). */
const FIRST_GUESS_RPS = 50_000

function cpuDelta (a: ServerStats, b: ServerStats, elapsedMs: number): { cpuPct: number, eluPct: number } {
  const cpuUs = (b.cpu.user - a.cpu.user) + (b.cpu.system - a.cpu.system)
  const active = b.elu.active - a.elu.active
  const idle = b.elu.idle - a.elu.idle
  return { cpuPct: 100 * cpuUs / 1000 / elapsedMs, eluPct: 100 * active / (active + idle) }
}

async function timedRun (server: ServerProcess, mix: Mix, tag: string, pinning: Pinning): Promise<Omit<RunRecord, 'round' | 'position' | 'server' | 'preflight'>> {
  // Warm-up: not counted; bodies signed on the fly (its rate also sizes the timed pool).
  const warm = await runLoad({ url: server.url, feed, connections, durationSec: warmupSec, source: newSource(server, mix, `${tag}w`) })
  if (warm.notOk + warm.non2xx + warm.errors > 0) log(`  warm-up: ${warm.notOk} not ok, ${warm.non2xx} non-2xx, ${warm.errors} errors`)

  // Enough pre-signed bodies for the timed run, made before the clock starts.
  // Known rate from an earlier round or the warm-up, doubled (an earlier round slowed by the machine's
  // neighbours, or a warm-up still compiling, understates it), else a generous guess; a short pool
  // only costs live signing.
  const best = bestRps.get(server.id)
  const estimate = best !== undefined ? Math.max(best, warm.rps) * 2 : Math.max(FIRST_GUESS_RPS, warm.rps * 1.6)
  const poolSize = Math.min(POOL_CAP, Math.ceil(estimate * durationSec) + 4 * connections)
  const source = newSource(server, mix, `${tag}m`)
  const t = performance.now()
  source.fill(poolSize)
  log(`  warm-up ${int(warm.rps)} req/s; signed ${int(poolSize)} bodies in ${fmt((performance.now() - t) / 1000, 1)} s`)
  gc()
  const quiet = quietWaitSec > 0 ? await waitForQuiet(quietPct, quietWaitSec, log) : { waitedSec: 0, busyPct: undefined }

  const before = await server.stats()
  const cpuBefore = cpuTimes()
  const result = await runLoad({ url: server.url, feed, connections, durationSec, source })
  const cpuAfter = cpuTimes()
  const after = await server.stats()
  const elapsedMs = result.elapsedSec * 1000
  const { cpuPct, eluPct } = cpuDelta(before, after, elapsedMs)

  // CPU time on each pinned core that did not go to the process pinned there: other load.
  let serverCoreOtherPct: number | undefined
  let loadgenCoreOtherPct: number | undefined
  if (pinning.enabled && cpuBefore !== undefined && cpuAfter !== undefined) {
    const busyPct = (cpu: string): number => 100 * ((cpuAfter.get(`cpu${cpu}`)?.busy ?? 0) - (cpuBefore.get(`cpu${cpu}`)?.busy ?? 0)) * 1000 / CLOCK_TICKS / elapsedMs
    serverCoreOtherPct = Math.max(0, busyPct(pinning.server as string) - cpuPct)
    loadgenCoreOtherPct = Math.max(0, busyPct(pinning.loadgen as string) - result.loadgenCpuPct)
  }
  const record = {
    warmupRps: warm.rps,
    warmupResponses: warm.responses,
    poolSize,
    poolUsed: source.poolUsed,
    liveSigned: source.liveSigned,
    rps: result.rps,
    latencyMs: result.latencyMs,
    responses: result.responses,
    elapsedSec: result.elapsedSec,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    notOk: result.notOk,
    bodies: result.bodies,
    rssMB: mb(after.memory.rss),
    heapUsedMB: mb(after.memory.heapUsed),
    serverCpuPct: cpuPct,
    serverEluPct: eluPct,
    loadgenCpuPct: result.loadgenCpuPct,
    serverCoreOtherPct,
    loadgenCoreOtherPct,
    quietWaitSec: quiet.waitedSec,
    machineBusyBeforePct: quiet.busyPct,
    serverCpus: allowedCpus(server.pid),
    autocannon: result.autocannon,
    perSecond: result.perSecond
  }
  source.drop()
  bestRps.set(server.id, Math.max(bestRps.get(server.id) ?? 0, result.rps))
  return record
}

// ---------------------------------------------------------------------------------------------
// Comparison mode

interface Summary {
  server: ServerId
  label: string
  rps: number
  rpsMin: number
  rpsMax: number
  p50: number
  p99: number
  max: number
  rssMB: number
  serverCpuPct: number
  loadgenCpuPct: number
  serverCoreOtherPct: number | undefined
  loadgenCoreOtherPct: number | undefined
  non2xx: number
  errors: number
  timeouts: number
  notOk: number
  liveSigned: number
  responses: number
  /** Full path only: req/s in the seconds before / after its duplicate memory reached replayMaxEntries. */
  rpsBeforeReplayBound?: number
  rpsAfterReplayBound?: number
}

/** The plugin's default replayMaxEntries, which the full server of the comparison keeps. */
const DEFAULT_REPLAY_MAX = 100_000

/**
 * The full path's rate in the whole seconds of a timed run before and after its duplicate memory
 * reached replayMaxEntries (pre-flight + warm-up + answers so far), from the per-second counts.
 */
function boundSplit (run: RunRecord): { before: number | undefined, after: number | undefined } {
  let seen = run.warmupResponses + run.preflight.length
  const before: number[] = []
  const after: number[] = []
  for (const n of run.perSecond) {
    if (seen + n <= DEFAULT_REPLAY_MAX) before.push(n)
    else if (seen >= DEFAULT_REPLAY_MAX) after.push(n)
    seen += n
  }
  const mean = (xs: number[]): number | undefined => xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length
  return { before: mean(before), after: mean(after) }
}

function summariseRuns (runs: RunRecord[], id: ServerId): Summary {
  const mine = runs.filter(r => r.server === id)
  const others = mine.map(r => r.serverCoreOtherPct).filter((x): x is number => x !== undefined)
  const othersLoadgen = mine.map(r => r.loadgenCoreOtherPct).filter((x): x is number => x !== undefined)
  return {
    server: id,
    label: LABELS[id],
    rps: median(mine.map(r => r.rps)),
    rpsMin: Math.min(...mine.map(r => r.rps)),
    rpsMax: Math.max(...mine.map(r => r.rps)),
    p50: median(mine.map(r => r.latencyMs.p50)),
    p99: median(mine.map(r => r.latencyMs.p99)),
    max: median(mine.map(r => r.latencyMs.max)),
    rssMB: median(mine.map(r => r.rssMB)),
    serverCpuPct: median(mine.map(r => r.serverCpuPct)),
    loadgenCpuPct: median(mine.map(r => r.loadgenCpuPct)),
    serverCoreOtherPct: others.length === 0 ? undefined : median(others),
    loadgenCoreOtherPct: othersLoadgen.length === 0 ? undefined : median(othersLoadgen),
    non2xx: mine.reduce((a, r) => a + r.non2xx, 0),
    errors: mine.reduce((a, r) => a + r.errors + r.timeouts, 0),
    timeouts: mine.reduce((a, r) => a + r.timeouts, 0),
    notOk: mine.reduce((a, r) => a + r.notOk, 0),
    liveSigned: mine.reduce((a, r) => a + r.liveSigned, 0),
    responses: mine.reduce((a, r) => a + r.responses, 0),
    ...(id === 'full'
      ? (() => {
          const splits = mine.map(boundSplit)
          const before = splits.map(x => x.before).filter((x): x is number => x !== undefined)
          const after = splits.map(x => x.after).filter((x): x is number => x !== undefined)
          return { rpsBeforeReplayBound: before.length === 0 ? undefined : median(before), rpsAfterReplayBound: after.length === 0 ? undefined : median(after) }
        })()
      : {})
  }
}

function ratio (a: Summary | undefined, b: Summary | undefined, runs: RunRecord[]): Record<string, number> | undefined {
  if (a === undefined || b === undefined) return undefined
  const perRound = [...new Set(runs.map(r => r.round))].map(round => {
    const x = runs.find(r => r.round === round && r.server === a.server)
    const y = runs.find(r => r.round === round && r.server === b.server)
    return x !== undefined && y !== undefined ? x.rps / y.rps : NaN
  }).filter(Number.isFinite)
  return {
    rps: a.rps / b.rps,
    rpsPerRoundMin: Math.min(...perRound),
    rpsPerRoundMax: Math.max(...perRound),
    p50: a.p50 / b.p50,
    p99: a.p99 / b.p99,
    rss: a.rssMB / b.rssMB
  }
}

function comparisonMarkdown (summaries: Summary[], ratios: Record<string, Record<string, number> | undefined>, meta: Record<string, unknown>): string {
  const m = meta as { cpuModel: string, nproc: number, node: string, versions: Record<string, string>, pinning: string }
  const lines: string[] = []
  lines.push(`Machine: ${m.cpuModel}, nproc ${m.nproc}, Node ${m.node}; fastify ${m.versions.fastify}, express ${m.versions.express}, autocannon ${m.versions.autocannon}.`)
  lines.push(`Load: autocannon in-process (${feed} feed), ${connections} connections, pipelining 1, ${warmupSec} s warm-up + ${durationSec} s timed per server per round, ${rounds} round(s), order rotated each round; medians of the rounds. ${m.pinning}.`)
  lines.push('')
  lines.push('| server | req/s | (min–max) | p50 ms | p99 ms | max ms | RSS MB | server CPU % | load-gen CPU % | non-2xx | not ok |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const s of summaries) {
    const flag = s.non2xx + s.errors + s.notOk > 0 ? ' ⚠' : ''
    lines.push(`| ${s.label}${flag} | ${int(s.rps)} | ${int(s.rpsMin)}–${int(s.rpsMax)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max, 1)} | ${fmt(s.rssMB, 1)} | ${fmt(s.serverCpuPct, 0)} | ${fmt(s.loadgenCpuPct, 0)} | ${s.non2xx} | ${s.notOk} |`)
  }
  lines.push('')
  const describe = (name: string, r: Record<string, number> | undefined): void => {
    if (r === undefined) return
    lines.push(`| ${name} | ${fmt(r.rps, 3)} | ${fmt(r.rpsPerRoundMin, 3)}–${fmt(r.rpsPerRoundMax, 3)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rss, 2)} |`)
  }
  if (Object.values(ratios).some(r => r !== undefined)) {
    lines.push('| ratio | req/s | req/s per round | p50 | p99 | RSS |', '|---|---:|---:|---:|---:|---:|')
    describe('3 ÷ 2 (full path ÷ bare Fastify)', ratios['3/2'])
    describe('3 ÷ 2b (full path ÷ hand-written receiver: what this project adds)', ratios['3/2b'])
    describe('2b ÷ 2 (what an md5 check and a log line cost bare Fastify)', ratios['2b/2'])
    describe('3 ÷ 4 (full path ÷ Express peer)', ratios['3/4'])
    lines.push('')
  }
  const full = summaries.find(s => s.server === 'full')
  if (full?.rpsBeforeReplayBound !== undefined || full?.rpsAfterReplayBound !== undefined) {
    lines.push(`Full path, by whole second of the timed runs (medians): ${full.rpsBeforeReplayBound === undefined ? '–' : int(full.rpsBeforeReplayBound)} req/s while its duplicate memory held fewer than ${int(DEFAULT_REPLAY_MAX)} callIds (replayMaxEntries default), ` +
      `${full.rpsAfterReplayBound === undefined ? '–' : int(full.rpsAfterReplayBound)} req/s once it was full and every claim also evicted the oldest.`)
    lines.push('')
  }
  lines.push('"not ok": 2xx answers whose body was not exactly {"status":"ok"} (duplicate, stale, ...); every answer is checked. RSS: server process right after its timed run. Latency: every answer, from autocannon\'s per-request timings.')
  return lines.join('\n')
}

/**
 * One timed run of `id` on a fresh server process; repeated (again on a fresh process) when other
 * processes took a noticeable share of a pinned core during it, up to --retries times.
 */
async function measureWithRetries (id: ServerId, round: number, position: number, pinning: Pinning, mix: Mix): Promise<{ kept: RunRecord, dropped: RunRecord[] }> {
  const dropped: RunRecord[] = []
  for (let attempt = 0; ; attempt++) {
    // BENCH_NODE_ARGS: node flags to try on every server alike (GC and heap settings, say).
    const server = await ServerProcess.start(id, { pinning, nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) })
    let run: RunRecord
    try {
      const checks = await preflight(server, mix)
      const record = await timedRun(server, mix, `r${round}${id}a${attempt}`, pinning)
      run = { round, position, server: id, preflight: checks, ...record }
    } finally {
      await server.stop()
      gc()
      await sleep(300)
    }
    const noisy = Math.max(run.serverCoreOtherPct ?? 0, run.loadgenCoreOtherPct ?? 0) > NOISY_PCT
    if (noisy && attempt < retries) {
      dropped.push(run)
      log(`  discarded (${int(run.rps)} req/s): other processes took ${fmt(run.serverCoreOtherPct ?? 0, 0)}% of the server's CPU and ${fmt(run.loadgenCoreOtherPct ?? 0, 0)}% of the load generator's; again`)
      continue
    }
    log(`  ${int(run.rps)} req/s, p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms, RSS ${fmt(run.rssMB, 1)} MB, server CPU ${fmt(run.serverCpuPct, 0)}%, load-gen CPU ${fmt(run.loadgenCpuPct, 0)}%` +
      `${run.notOk + run.non2xx + run.errors > 0 ? `, ⚠ ${run.notOk} not ok / ${run.non2xx} non-2xx / ${run.errors} errors` : ''}` +
      `${run.liveSigned > 0 ? `, ${run.liveSigned} bodies signed live (pool too small)` : ''}` +
      `${noisy ? `, noisy (others took ${fmt(run.serverCoreOtherPct ?? 0, 0)}% / ${fmt(run.loadgenCoreOtherPct ?? 0, 0)}% of the pinned CPUs)` : ''}`)
    return { kept: run, dropped }
  }
}

const NOISY_PCT = 10

async function compare (pinning: Pinning, mix: Mix): Promise<void> {
  const runs: RunRecord[] = []
  const discarded: RunRecord[] = []
  const order = SERVER_IDS.filter(id => only.includes(id))
  for (let round = 0; round < rounds; round++) {
    const rotated = order.map((_, i) => order[(i + round) % order.length])
    log(`round ${round + 1}/${rounds}: ${rotated.join(' → ')}`)
    for (const [position, id] of rotated.entries()) {
      log(` ${LABELS[id]}`)
      const { kept, dropped } = await measureWithRetries(id, round, position, pinning, mix)
      runs.push(kept)
      discarded.push(...dropped)
    }
  }

  const summaries = order.map(id => summariseRuns(runs, id))
  const byId = new Map(summaries.map(s => [s.server, s]))
  const ratios = {
    '3/2': ratio(byId.get('full'), byId.get('fastify-bare'), runs),
    '3/2b': ratio(byId.get('full'), byId.get('fastify-handwritten'), runs),
    '2b/2': ratio(byId.get('fastify-handwritten'), byId.get('fastify-bare'), runs),
    '3/4': ratio(byId.get('full'), byId.get('express'), runs)
  }
  const meta = { ...machine(pinning), loadAverageAtEnd: loadavg().map(x => Math.round(x * 100) / 100) }

  const warnings: string[] = []
  for (const s of summaries) {
    if (s.non2xx + s.errors + s.notOk > 0) warnings.push(`${s.server}: ${s.non2xx} non-2xx, ${s.errors} errors/timeouts, ${s.notOk} answers not {"status":"ok"}: its numbers are not valid`)
    if (s.liveSigned > 0) warnings.push(`${s.server}: the pre-signed pool ran out; ${s.liveSigned} bodies were signed during the timed run (load generator did extra work)`)
    if (s.loadgenCpuPct > 90 && s.serverCpuPct < 90) warnings.push(`${s.server}: load generator at ${fmt(s.loadgenCpuPct, 0)}% CPU, server at ${fmt(s.serverCpuPct, 0)}%: this row is bounded by the load generator, not the server`)
    if ((s.serverCoreOtherPct ?? 0) > 5 || (s.loadgenCoreOtherPct ?? 0) > 5) warnings.push(`${s.server}: other processes took ${fmt(s.serverCoreOtherPct ?? 0, 0)}% of the server's CPU and ${fmt(s.loadgenCoreOtherPct ?? 0, 0)}% of the load generator's (median): noisy machine`)
  }

  const markdown = comparisonMarkdown(summaries, ratios, meta) + (warnings.length > 0 ? '\n\nWarnings:\n' + warnings.map(w => `- ${w}`).join('\n') : '')
  process.stdout.write(markdown + '\n')

  const complete = SERVER_IDS.every(id => only.includes(id))
  const file = args.out ?? join(RESULTS_DIR, complete ? 'latest.json' : `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({
    date: new Date().toISOString(),
    meta,
    settings: { rounds, durationSec, warmupSec, connections, pipelining: 1, feed, servers: order, logger: `servers 2, 2b and 3: ${args.logger === 'off' ? 'no logger' : `pino JSON at ${args.logger} to stdout = /dev/null, Fastify request lines off`}`, line2b: args['2b-line'], secret: SECRET },
    mix: mix.entries.map(e => ({ ...e, share: Math.round(e.share * 10000) / 10000 })),
    summaries,
    ratios,
    warnings,
    runs,
    discarded
  }, null, 2) + '\n')
  log(`wrote ${file}`)
}

// ---------------------------------------------------------------------------------------------
// Long mode: memory under continuous distinct callIds

async function long (pinning: Pinning, mix: Mix): Promise<void> {
  const minutes = positive('minutes', args.minutes)
  const replayMax = Math.round(positive('replay-max', args['replay-max']))
  const everySec = positive('sample-every', args['sample-every'])
  log(`long mode: full path for ${minutes} min, replayMaxEntries ${replayMax}, sample every ${everySec} s`)
  const server = await ServerProcess.start('full', { pinning, nodeArgs: ['--expose-gc'], env: { BENCH_REPLAY_MAX_ENTRIES: String(replayMax) } })
  interface Sample { tSec: number, responses: number, rps: number, rssMB: number, heapUsedMB: number, heapTotalMB: number, externalMB: number, heapAfterGcMB: number }
  const samples: Sample[] = []
  let result: LoadResult
  try {
    await preflight(server, mix)
    if (quietWaitSec > 0) await waitForQuiet(quietPct, quietWaitSec, log)
    const t0 = performance.now()
    const take = async (responses: number): Promise<void> => {
      const s = await server.stats(true)
      const tSec = (performance.now() - t0) / 1000
      const previous = samples[samples.length - 1]
      samples.push({
        tSec,
        responses,
        rps: previous === undefined || tSec === previous.tSec ? 0 : (responses - previous.responses) / (tSec - previous.tSec),
        rssMB: mb(s.memory.rss),
        heapUsedMB: mb(s.memory.heapUsed),
        heapTotalMB: mb(s.memory.heapTotal),
        externalMB: mb(s.memory.external),
        heapAfterGcMB: mb(s.heapAfterGc ?? s.memory.heapUsed)
      })
      const last = samples[samples.length - 1]
      log(`  ${fmt(last.tSec, 0)} s: ${int(responses)} answers (${int(last.rps)} req/s), RSS ${fmt(last.rssMB, 1)} MB, heap ${fmt(last.heapUsedMB, 1)} MB (${fmt(last.heapAfterGcMB, 1)} MB after GC)`)
    }
    await take(0)
    // Bodies are signed on the fly here (fresh timestamps for minutes; a pool would go stale).
    result = await runLoad({
      url: server.url,
      feed,
      connections,
      durationSec: minutes * 60,
      source: newSource(server, mix, 'long'),
      tick: { everyMs: everySec * 1000, fn: responses => { void take(responses) } }
    })
    await sleep(100)
    await take(result.responses)
  } finally {
    await server.stop()
  }

  // "First" is the first sample after the duplicate memory has surely reached its bound.
  const filled = samples.filter(s => s.responses >= 2 * replayMax)
  const first = filled[0] ?? samples[1] ?? samples[0]
  const last = samples[samples.length - 1]
  // The last sample comes right after the run; its interval is short. The rate is the last full one's.
  const lastFull = samples.length >= 2 ? samples[samples.length - 2] : last
  const steady = samples.filter(s => s.tSec >= first.tSec)
  const perMin = (key: keyof Sample): number => 60 * slope(steady.map(s => s.tSec), steady.map(s => s[key]))
  const report = {
    date: new Date().toISOString(),
    meta: { ...machine(pinning), loadAverageAtEnd: loadavg().map(x => Math.round(x * 100) / 100) },
    settings: { minutes, replayMaxEntries: replayMax, sampleEverySec: everySec, connections },
    rps: result.rps,
    responses: result.responses,
    notOk: result.notOk,
    non2xx: result.non2xx,
    errors: result.errors,
    bodies: result.bodies,
    latencyMs: result.latencyMs,
    first,
    last,
    slopeMBPerMin: { rss: perMin('rssMB'), heapUsed: perMin('heapUsedMB'), heapAfterGc: perMin('heapAfterGcMB') },
    samples
  }
  const lines = [
    `Long run: full path, ${minutes} min, ${int(result.responses)} callbacks (${int(result.rps)} req/s), every one a new callId; replayMaxEntries ${replayMax}. Not ok: ${result.notOk}, non-2xx: ${result.non2xx}, errors: ${result.errors}.`,
    '',
    '| | at s | answers | req/s (interval before) | RSS MB | heapUsed MB | heap after GC MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
    `| first (bound reached) | ${fmt(first.tSec, 0)} | ${int(first.responses)} | ${int(first.rps)} | ${fmt(first.rssMB, 1)} | ${fmt(first.heapUsedMB, 1)} | ${fmt(first.heapAfterGcMB, 1)} |`,
    `| last | ${fmt(last.tSec, 0)} | ${int(last.responses)} | ${int(lastFull.rps)} | ${fmt(last.rssMB, 1)} | ${fmt(last.heapUsedMB, 1)} | ${fmt(last.heapAfterGcMB, 1)} |`,
    `| change | | | | ${fmt(last.rssMB - first.rssMB, 1)} | ${fmt(last.heapUsedMB - first.heapUsedMB, 1)} | ${fmt(last.heapAfterGcMB - first.heapAfterGcMB, 1)} |`,
    '',
    `Trend after the bound (least squares, MB/min): RSS ${fmt(report.slopeMBPerMin.rss, 2)}, heapUsed ${fmt(report.slopeMBPerMin.heapUsed, 2)}, heap after GC ${fmt(report.slopeMBPerMin.heapAfterGc, 2)}. ` +
    `Range after the bound: heap after GC ${fmt(Math.min(...steady.map(s => s.heapAfterGcMB)), 1)}–${fmt(Math.max(...steady.map(s => s.heapAfterGcMB)), 1)} MB, RSS ${fmt(Math.min(...steady.map(s => s.rssMB)), 1)}–${fmt(Math.max(...steady.map(s => s.rssMB)), 1)} MB.`
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const file = args.out ?? join(RESULTS_DIR, `long-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n')
  log(`wrote ${file}`)
}

// ---------------------------------------------------------------------------------------------
// Profile mode

async function countLines (file: string): Promise<number> {
  let n = 0
  const lines = createInterface({ input: createReadStream(file) })
  for await (const line of lines) if (line.includes('"msg":"easemob callback"')) n++
  return n
}

async function profile (pinning: Pinning, mix: Mix): Promise<void> {
  const dir = join(RESULTS_DIR, 'profile')
  mkdirSync(dir, { recursive: true })
  const ids = args['profile-servers'].split(',').map(s => s.trim()).filter(Boolean) as ServerId[]
  const out: Record<string, unknown> = {}
  for (const id of ids) {
    if (!SERVER_IDS.includes(id)) throw new Error(`--profile-servers: unknown server ${id}`)
    log(`profiling ${LABELS[id]}`)
    // Set up exactly as in the comparison (logs to /dev/null), plus the profiler.
    const server = await ServerProcess.start(id, {
      pinning,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${id}.cpuprofile`, '--cpu-prof-interval', '250']
    })
    const measured = await (async () => {
      try {
        await preflight(server, mix)
        const warm = await runLoad({ url: server.url, feed, connections, durationSec: warmupSec, source: newSource(server, mix, `p${id}w`) })
        const source = newSource(server, mix, `p${id}m`)
        source.fill(Math.min(POOL_CAP, Math.ceil(Math.max(warm.rps * 1.6, 20_000) * durationSec * 1.25) + 4 * connections))
        gc()
        if (quietWaitSec > 0) await waitForQuiet(quietPct, quietWaitSec, log)
        const before = await server.stats()
        const load = await runLoad({ url: server.url, feed, connections, durationSec, source })
        const after = await server.stats()
        return {
          load: { ...load, warmupResponses: warm.responses, liveSigned: source.liveSigned, server: cpuDelta(before, after, load.elapsedSec * 1000) },
          window: { startUs: Number(BigInt(before.hrtime) / 1000n), endUs: Number(BigInt(after.hrtime) / 1000n) }
        }
      } finally {
        await server.stop()
      }
    })()
    const record = measured.load
    const summary = summarise(join(dir, `${id}.cpuprofile`), measured.window, 25, record.responses)
    const text = `### ${LABELS[id]} under the profiler: ${int(record.rps)} req/s (profiling slows it), per second: ${record.perSecond.map(int).join(' ')}\n\n${profileMarkdown(summary)}\n`
    writeFileSync(join(dir, `${id}-summary.md`), text)
    process.stdout.write(text + '\n')
    out[id] = { load: record, summary }
  }
  // The log check counts info lines; with --logger warn or off there are none to count.
  if (ids.includes('full') && args.logger === 'info') {
    const check = await logCheck(pinning, mix, dir)
    process.stdout.write(check.text + '\n')
    out.logCheck = check
  }
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(out, null, 2) + '\n')
  log(`wrote ${dir}`)
}

/** The full path logs one line per callback: a short load with the log in a file, lines counted. */
async function logCheck (pinning: Pinning, mix: Mix, dir: string): Promise<{ text: string, lines: number, requests: number }> {
  const logFile = join(dir, 'full-log.ndjson')
  const server = await ServerProcess.start('full', { pinning, stdoutFile: logFile })
  let requests = 0
  try {
    const load = await runLoad({ url: server.url, feed, connections, durationSec: 2, source: newSource(server, mix, 'logcheck') })
    await sleep(200)
    requests = load.responses
  } finally {
    await server.stop()
  }
  const lines = await countLines(logFile)
  // autocannon stops counting when the clock ends; up to one in-flight request per connection is answered after.
  const pass = lines >= requests && lines <= requests + connections
  return { lines, requests, text: `Log check: ${int(lines)} "easemob callback" lines at info for ${int(requests)} callbacks counted by the load generator (+ up to ${connections} in flight at the end): ${pass ? 'one line per callback' : 'MISMATCH'}.` }
}

// ---------------------------------------------------------------------------------------------

const pinning = choosePinning(!args['no-pin'])
if (pinning.enabled) pinSelf(pinning.loadgen as string)
log(`pinning: ${pinning.note}; this process runs on CPUs ${allowedCpus(process.pid) ?? '?'}`)
log('building servers (tsc -p bench/tsconfig.json) ...')
buildServers()
const mix = buildMix()
log(`mix: ${mix.entries.length} samples, ${fmt(100 * mix.entries.filter(e => e.message).reduce((a, e) => a + e.share, 0), 0)}% chat messages`)

try {
  if (args.profile) await profile(pinning, mix)
  else if (args.long) await long(pinning, mix)
  else await compare(pinning, mix)
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? String(error)}`)
  process.exitCode = 1
}
