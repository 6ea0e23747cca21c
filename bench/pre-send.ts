// npm run bench:pre-send — decision latency of the pre-send route through HTTP, with a 5,000-word
// rules file, as ratios to the same route with a policy that always answers {"valid": true}.
// Not a test: numbers go to stdout (Markdown) and bench/results/pre-send.json.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSamples, restamp } from '../src/samples.js'

const WORDS = 5000
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8)
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

function word (i: number): string {
  // Half Latin, half Chinese, like a real list of banned terms.
  const han = String.fromCodePoint(0x4e00 + (i * 7919) % 20000, 0x4e00 + (i * 104729) % 20000)
  return i % 2 === 0 ? `spamword${i.toString(36)}` : `${han}词${i % 10}`
}

const dir = mkdtempSync(join(tmpdir(), 'presend-bench-'))
const rulesFile = join(dir, 'rules.json')
const words = Array.from({ length: WORDS }, (_, i) => word(i))
writeFileSync(rulesFile, JSON.stringify({
  rules: [
    { name: 'banned', action: 'block', code: 'HX:1', words: words.slice(0, WORDS - 100) },
    { name: 'masked', action: 'mask', words: words.slice(WORDS - 100), patterns: ['1[3-9]\\d{9}'] }
  ]
}))

const TEXTS = [
  'is the build green? 今天的构建通过了吗', 'lunch at noon, then the release review', '好的，我们下午三点开会讨论一下方案',
  'see the attached plan for Q3 and tell me what you think', 'ok', 'Ｆｕｌｌ-width text and ＭＩＸＥＤ case 混合文本'
]
const template = loadSamples().get('pre_send_txt') as Record<string, unknown> & { callId: string, timestamp: number }

function bodies (count: number, tag: string): string[] {
  return Array.from({ length: count }, (_, i) => {
    let msg = TEXTS[i % TEXTS.length]
    if (i % 20 === 7) msg += ` ${words[(i * 31) % (WORDS - 100)]}` // 5 %: blocked
    if (i % 20 === 13) msg += ' call 13912345678' // 5 %: masked
    return JSON.stringify(restamp({ ...template, payload: { type: 'txt', msg } }, 'test-secret', { callId: `${tag}-${i}` }))
  })
}

async function start (mode: 'pass' | 'rules'): Promise<{ child: ChildProcess, port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'servers', 'pre-send.ts')], {
    env: { ...process.env, MODE: mode, RULES: rulesFile },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc']
  })
  const port = await new Promise<number>((resolve, reject) => {
    let text = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      text += String(chunk)
      const match = /PORT (\d+)/.exec(text)
      if (match !== null) resolve(Number(match[1]))
    })
    child.on('exit', code => reject(new Error(`${mode} server exited ${String(code)}: ${text}`)))
  })
  return { child, port }
}

/** Closed loop: CONCURRENCY workers, each sends its next request when the last answered. */
async function load (port: number, payloads: string[]): Promise<{ latencies: number[], answers: Map<string, number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const latencies: number[] = []
  const answers = new Map<string, number>()
  let next = 0
  const one = (body: string): Promise<void> => new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const req = request({ port, host: '127.0.0.1', path: '/pre-send', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, res => {
      let text = ''
      res.on('data', chunk => { text += String(chunk) })
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
        const verdict = res.statusCode !== 200 ? `HTTP ${String(res.statusCode)}` : (JSON.parse(text) as { valid: boolean, payload?: unknown }).valid ? ('payload' in JSON.parse(text) ? 'rewrite' : 'pass') : 'block'
        answers.set(verdict, (answers.get(verdict) ?? 0) + 1)
        resolve()
      })
    })
    req.on('error', reject)
    req.end(body)
  })
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < payloads.length) await one(payloads[next++])
  }))
  agent.destroy()
  return { latencies, answers }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const results: Record<'pass' | 'rules', Array<{ p50: number, p99: number, answers: Record<string, number> }>> = { pass: [], rules: [] }
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of round % 2 === 0 ? ['pass', 'rules'] as const : ['rules', 'pass'] as const) {
    const server = await start(mode)
    await load(server.port, bodies(2000, `warm-${mode}-${round}`))
    const { latencies, answers } = await load(server.port, bodies(REQUESTS, `${mode}-${round}`))
    latencies.sort((a, b) => a - b)
    results[mode].push({ p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), answers: Object.fromEntries(answers) })
    server.child.send('exit')
    await new Promise(resolve => server.child.once('exit', resolve))
    process.stderr.write(`round ${round + 1} ${mode}: p50 ${percentile(latencies, 0.5).toFixed(3)} ms, p99 ${percentile(latencies, 0.99).toFixed(3)} ms ${JSON.stringify(Object.fromEntries(answers))}\n`)
  }
}

const summary = Object.fromEntries((['pass', 'rules'] as const).map(mode => [mode, {
  p50: median(results[mode].map(r => r.p50)),
  p99: median(results[mode].map(r => r.p99))
}])) as Record<'pass' | 'rules', { p50: number, p99: number }>

const table = [
  `Pre-send decision latency through HTTP (${CONCURRENCY} concurrent clients, ${REQUESTS} requests per run, ${ROUNDS} rounds alternating, medians; ${WORDS} words + 1 pattern; 5 % blocked, 5 % masked):`,
  '',
  '| policy | p50 ms | p99 ms |',
  '|---|---:|---:|',
  `| always \`{"valid":true}\` | ${summary.pass.p50.toFixed(3)} | ${summary.pass.p99.toFixed(3)} |`,
  `| rules file, ${WORDS} words | ${summary.rules.p50.toFixed(3)} | ${summary.rules.p99.toFixed(3)} |`,
  `| ratio | ${(summary.rules.p50 / summary.pass.p50).toFixed(2)} | ${(summary.rules.p99 / summary.pass.p99).toFixed(2)} |`
].join('\n')
process.stdout.write(table + '\n')
writeFileSync(join(import.meta.dirname, 'results', 'pre-send.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, concurrency: CONCURRENCY, requests: REQUESTS, rounds: ROUNDS, words: WORDS, summary, runs: results }, null, 2))
