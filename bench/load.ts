// One autocannon run (in this process) against one server: requests from a RequestPool, every
// answer checked, the latency of every answer kept (autocannon's own percentiles are whole ms).
import autocannon from 'autocannon'
import type { RequestPool } from './bodies.js'

/** Says what is wrong with an answer, or undefined when it is right. */
export type AnswerCheck = (status: number, body: string) => string | undefined

export const isOk: AnswerCheck = (status, body) =>
  status < 200 || status > 299 ? `HTTP ${status} ${body.slice(0, 80)}` : body === '{"status":"ok"}' ? undefined : `${status} ${body.slice(0, 80)}`

export interface LoadResult {
  answers: number
  rps: number
  p50: number
  p99: number
  /** Wrong answers (non-2xx, or the wrong body), connection errors and timeouts; by kind in `problems`. */
  bad: number
  problems: Map<string, number>
  signedLive: number
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** For `duration` seconds, or until `amount` requests are answered. */
export async function runLoad (options: { url: string, pool: RequestPool, check: AnswerCheck, connections: number, duration?: number, amount?: number }): Promise<LoadResult> {
  const { pool, check } = options
  let latencies = new Float64Array(1 << 16)
  let count = 0
  let status = 0
  const problems = new Map<string, number>()
  const started = performance.now()
  // Without a callback autocannon gives its event emitter, which is also a promise of the result.
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    ...(options.amount === undefined ? { duration: options.duration } : { amount: options.amount }),
    // Each request is the pool's next one, bytes ready: autocannon's own request builder (headers
    // merged, a buffer concatenated, per request) would cost the load generator more than the bare
    // servers cost per request. getRequestBuffer() is autocannon's undocumented hook for it.
    setupClient: client => {
      const raw = client as unknown as { getRequestBuffer?: () => Buffer }
      if (typeof raw.getRequestBuffer !== 'function') throw new Error('autocannon has no Client.getRequestBuffer() any more')
      raw.getRequestBuffer = () => pool.next()
    },
    // autocannon calls this right after the 'response' event below, which saw the status.
    verifyBody: body => {
      const problem = check(status, String(body))
      if (problem !== undefined) problems.set(problem, (problems.get(problem) ?? 0) + 1)
      return problem === undefined
    }
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    status = statusCode
    if (count === latencies.length) {
      const bigger = new Float64Array(count * 2)
      bigger.set(latencies)
      latencies = bigger
    }
    latencies[count++] = responseTime
  })
  const result = await instance
  const seconds = (performance.now() - started) / 1000
  const sorted = latencies.subarray(0, count).sort()
  const percentile = (p: number): number => sorted[Math.max(0, Math.ceil(p * count) - 1)] ?? NaN
  if (result.errors > 0) problems.set('connection errors and timeouts', result.errors)
  return {
    answers: count,
    rps: count / seconds,
    p50: percentile(0.5),
    p99: percentile(0.99),
    bad: [...problems.values()].reduce((a, b) => a + b, 0),
    problems,
    signedLive: pool.signedLive
  }
}

/** One POST outside any load run (the pre-flight); throws unless the answer has `status` and passes `check`. */
export async function expectAnswer (url: string, what: string, body: unknown, status: number, check?: AnswerCheck): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await response.text()
  const problem = response.status !== status ? `HTTP ${response.status} ${text.slice(0, 200)}` : check?.(response.status, text)
  if (problem !== undefined) throw new Error(`pre-flight, ${what} at ${url}: expected ${status}, got ${problem}`)
}
