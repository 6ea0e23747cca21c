// One autocannon run against one server, fed distinct signed bodies, every answer checked.
import autocannon from 'autocannon'
import type { BodySource } from './mix.js'

export const OK_BODY = '{"status":"ok"}'

/**
 * How bodies reach autocannon.
 * - `raw` (default): the pool holds whole pre-built HTTP requests and each connection's
 *   getRequestBuffer() hands out the next one. autocannon then only writes bytes and parses
 *   answers; its request builder does not run per request. This uses an undocumented method of
 *   autocannon's Client (checked at start; falls back to `setup` if it is missing).
 * - `setup`: autocannon's documented per-request `setupRequest`, which rebuilds the request
 *   (header merge, Buffer.concat) for every request: ~15-20% more load-generator CPU per request,
 *   enough to make the load generator the bottleneck against the bare servers on this machine.
 */
export type Feed = 'raw' | 'setup'

export interface LoadOptions {
  url: string
  feed: Feed
  connections: number
  durationSec: number
  source: BodySource
  /** Called every `everyMs` while the run lasts (long mode samples the server with it). */
  tick?: { everyMs: number, fn: (responsesSoFar: number) => void }
}

export interface LoadResult {
  /** Answers received while the clock ran. */
  responses: number
  elapsedSec: number
  rps: number
  /** Latency of every answer, measured by us from autocannon's float ms (its own table is whole ms). */
  latencyMs: { p50: number, p90: number, p99: number, max: number, mean: number }
  /** autocannon's own figures, for comparison. */
  autocannon: { rpsAverage: number, p50: number, p99: number, max: number, non2xx: number, errors: number, timeouts: number, mismatches: number, resets: number, statusCodeStats: Record<string, unknown> }
  non2xx: number
  errors: number
  timeouts: number
  /** Answers whose body was not exactly {"status":"ok"}, by body (first 80 characters). */
  notOk: number
  bodies: Record<string, number>
  /** CPU the load generator process used during the run, % of one core. */
  loadgenCpuPct: number
  /** Answers in each whole second of the run (a rate that sags over time shows here). */
  perSecond: number[]
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[rank]
}

export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  const { source } = options
  let latencies = new Float64Array(1 << 20)
  let count = 0
  const bodies: Record<string, number> = {}
  let notOk = 0
  let distinctBodies = 0

  let finish: (result: autocannon.Result) => void = () => {}
  let fail: (error: unknown) => void = () => {}
  const done = new Promise<autocannon.Result>((resolve, reject) => { finish = resolve; fail = reject })
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSec,
    timeout: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(options.feed === 'raw'
      ? {
          // A new pre-built request per request, from the pre-signed pool: one callId is never sent twice.
          body: '{}',
          setupClient: (client: autocannon.Client) => {
            const raw = client as unknown as { getRequestBuffer?: () => Buffer }
            if (typeof raw.getRequestBuffer !== 'function') throw new Error('autocannon Client has no getRequestBuffer(): use --feed setup')
            raw.getRequestBuffer = () => source.next()
          }
        }
      : {
          requests: [{
            method: 'POST',
            path: '/',
            // A new body per request, from the pre-signed pool: one callId is never sent twice.
            setupRequest: (request: autocannon.Request) => {
              request.body = source.next()
              return request
            }
          }]
        }),
    // Every answer's body is looked at, not a sample: a 200 that says duplicate/stale is a failure too.
    verifyBody: (body) => {
      if (body === OK_BODY) return true
      notOk++
      const key = String(body).slice(0, 80)
      if (bodies[key] !== undefined) bodies[key]++
      else if (distinctBodies++ < 20) bodies[key] = 1
      return false
    }
  }, (error, result) => { if (error !== null && error !== undefined) fail(error); else finish(result) })

  instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2)
      bigger.set(latencies)
      latencies = bigger
    }
    latencies[count++] = responseTime
  })

  let timer: NodeJS.Timeout | undefined
  const perSecond: number[] = []
  let lastCount = 0
  const second = setInterval(() => { perSecond.push(count - lastCount); lastCount = count }, 1000)
  const tick = options.tick
  if (tick !== undefined) timer = setInterval(() => { tick.fn(count) }, tick.everyMs)

  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await done
  const elapsedMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  if (timer !== undefined) clearInterval(timer)
  clearInterval(second)

  const sorted = latencies.subarray(0, count).sort()
  let sum = 0
  for (let i = 0; i < count; i++) sum += sorted[i]
  bodies[OK_BODY] = count - notOk

  return {
    responses: count,
    elapsedSec: elapsedMs / 1000,
    rps: count / (elapsedMs / 1000),
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: count === 0 ? 0 : sorted[count - 1],
      mean: count === 0 ? 0 : sum / count
    },
    autocannon: {
      rpsAverage: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      mismatches: result.mismatches,
      resets: result.resets,
      statusCodeStats: (result.statusCodeStats ?? {}) as Record<string, unknown>
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    notOk,
    bodies,
    loadgenCpuPct: 100 * (cpu.user + cpu.system) / 1000 / elapsedMs,
    perSecond
  }
}
