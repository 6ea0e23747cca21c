// npm run bench -- --pre-send: the service's pre-send decision latency through HTTP with a rules
// file of 5,000 words and one pattern, against the same service with a rules file of no rules.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSamples, restamp, type SampleBody } from '../src/samples.js'
import { RequestPool, SECRET } from './bodies.js'
import { type AnswerCheck, expectAnswer, median, runLoad } from './load.js'
import { SERVICE, type ServerRow, startServer } from './processes.js'

const WORDS = 5000
const CONNECTIONS = 8
const WARMUP_REQUESTS = 2000

/** Half Latin, half Chinese; none is inside a clean text below. */
const word = (i: number): string => i % 2 === 0
  ? `spamword${i.toString(36)}`
  : String.fromCodePoint(0x4e00 + (i * 7919) % 20000, 0x4e00 + (i * 104729) % 20000) + `词${i % 10}`
const CLEAN_TEXTS = [
  'is the build green?', 'lunch at noon, then the release review', '好的，我们下午三点开会讨论一下方案',
  '今天的构建通过了吗', 'Ｆｕｌｌ－ｗｉｄｔｈ ｔｅｘｔ ａｎｄ ＭＩＸＥＤ ｃａｓｅ', 'ｓｈｉｐ ｉｔ？ 全角的问号和字母'
]

/** 1,000 pre-send requests: 5 % with a listed word (blocked), 5 % with a phone number (masked), the rest clean. */
function preSendDeck (): SampleBody[] {
  const samples = [...loadSamples()].filter(([name]) => name.startsWith('pre_send_')).map(([, body]) => body)
  const text = samples.find(body => (body.payload as { type?: string }).type === 'txt')
  if (text === undefined) throw new Error('no text message in samples/pre_send_*.json')
  const withText = (msg: string): SampleBody => ({ ...text, payload: { type: 'txt', msg } })
  const clean = [...CLEAN_TEXTS.map(withText), ...samples.filter(body => body !== text)]
  return Array.from({ length: 1000 }, (_, i) => i % 20 === 7
    ? withText(`${CLEAN_TEXTS[i % CLEAN_TEXTS.length]} ${word(i * 31 % WORDS)}`)
    : i % 20 === 13 ? withText(`${CLEAN_TEXTS[i % CLEAN_TEXTS.length]} call me on 13912345678`) : clean[i % clean.length])
}

/** 200 with a JSON body whose `valid` is a boolean; blocked and rewritten answers are counted too. */
const preSendCheck = (tally: { blocked: number, masked: number }): AnswerCheck => (status, text) => {
  let answer: { valid?: unknown, payload?: unknown } = {}
  try { answer = JSON.parse(text) as typeof answer } catch {}
  if (status !== 200 || typeof answer.valid !== 'boolean') return `HTTP ${status} ${text.slice(0, 80)}`
  if (!answer.valid) tally.blocked++
  else if (answer.payload !== undefined) tally.masked++
  return undefined
}

export async function preSendBench (options: { rounds: number, requests: number, wrap: string[], log: (text: string) => void }): Promise<{ markdown: string, bad: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pre-send-'))
  writeFileSync(join(dir, 'rules.json'), JSON.stringify({
    rules: [
      { name: 'listed-words', action: 'block', code: 'HX:10001', words: Array.from({ length: WORDS }, (_, i) => word(i)) },
      { name: 'phone-numbers', action: 'mask', patterns: ['1[3-9]\\d{9}'] }
    ]
  }))
  writeFileSync(join(dir, 'none.yaml'), 'rules: []\n')
  const row = (name: string, file: string): ServerRow => ({ id: file, name, ...SERVICE, env: { ...SERVICE.env, PRE_SEND_RULES: join(dir, file) }, checksSignature: true })
  const servers = [row('no rules', 'none.yaml'), row(`${WORDS} words + 1 pattern`, 'rules.json')]
  const deck = preSendDeck()
  const runs = new Map(servers.map(server => [server, [] as Array<{ p50: number, p99: number, bad: number, blocked: number, masked: number }>]))
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const row of round % 2 === 0 ? servers : [...servers].reverse()) {
        const server = await startServer(row, options.wrap)
        try {
          const tally = { blocked: 0, masked: 0 }
          const load = { url: `${server.url}/pre-send`, check: preSendCheck(tally), connections: CONNECTIONS }
          await expectAnswer(load.url, 'a valid pre-send request', restamp(deck[0], SECRET, { callId: `preflight-${Math.random()}` }), 200, load.check)
          const pool = (phase: string): RequestPool => new RequestPool(deck, server.host, '/pre-send', `r${round}${phase}`)
          const warm = await runLoad({ ...load, pool: pool('w'), amount: WARMUP_REQUESTS })
          Object.assign(tally, { blocked: 0, masked: 0 })
          const result = await runLoad({ ...load, pool: pool('t').fill(options.requests), amount: options.requests })
          runs.get(row)?.push({ ...result, ...tally, bad: result.bad + warm.bad })
          options.log(`  ${row.name}: p50 ${result.p50.toFixed(3)} ms, p99 ${result.p99.toFixed(3)} ms, ${tally.blocked} blocked, ` +
            `${tally.masked} masked of ${result.answers}` + (result.bad + warm.bad > 0
            ? `, ${result.bad + warm.bad} WRONG: ${JSON.stringify(Object.fromEntries([...warm.problems, ...result.problems]))}` : ''))
        } finally {
          await server.stop()
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const [none, rules] = servers.map(row => {
    const results = runs.get(row) ?? []
    const mid = (key: 'p50' | 'p99' | 'blocked' | 'masked'): number => median(results.map(r => r[key]))
    return { name: row.name, p50: mid('p50'), p99: mid('p99'), blocked: mid('blocked'), masked: mid('masked'), bad: results.reduce((sum, r) => sum + r.bad, 0) }
  })
  return {
    bad: none.bad + rules.bad,
    markdown: [
      '| pre-send rules | p50 ms | p99 ms | blocked | masked | errors / not ok |',
      '|---|---:|---:|---:|---:|---:|',
      ...[none, rules].map(s => `| ${s.name} | ${s.p50.toFixed(3)} | ${s.p99.toFixed(3)} | ${s.blocked} | ${s.masked} | ${s.bad} |`),
      `| ratio | ${(rules.p50 / none.p50).toFixed(2)} | ${(rules.p99 / none.p99).toFixed(2)} | | | |`,
      '',
      `The service with PRE_SEND_RULES, POST /pre-send, ${CONNECTIONS} connections, ${options.requests} requests per round after ${WARMUP_REQUESTS} ` +
      `not counted, medians of ${options.rounds} round(s), alternating; 5 % of requests carry a listed word, 5 % a phone number.`
    ].join('\n')
  }
}
