// Processes: building the servers, pinning, starting and questioning a server, reading /proc.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, openSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServerStats } from '../servers/ipc.js'

export type { ServerStats }

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
export const ROOT = join(BENCH_DIR, '..')
export const BUILD_DIR = join(BENCH_DIR, '.build')

/** Compiles the servers and the project source they load with tsc (bench/tsconfig.json). */
export function buildServers (): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', join(BENCH_DIR, 'tsconfig.json')], { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT })
  } catch (error) {
    // Type errors still emit (noEmitOnError is off): the source is being edited by others; say so and go on.
    const out = String((error as { stdout?: Buffer }).stdout ?? '') + String((error as { stderr?: Buffer }).stderr ?? '')
    process.stderr.write(`bench: tsc reported problems (continuing with what it emitted):\n${out.split('\n').slice(0, 20).join('\n')}\n`)
  }
  for (const name of SERVER_IDS) {
    if (!existsSync(serverScript(name))) throw new Error(`bench: ${serverScript(name)} was not built`)
  }
}

export const SERVER_IDS = ['node-http', 'fastify-bare', 'fastify-handwritten', 'full', 'express'] as const
export type ServerId = typeof SERVER_IDS[number]

export function serverScript (id: ServerId): string {
  return join(BUILD_DIR, 'bench', 'servers', `${id}.js`)
}

export interface Pinning {
  enabled: boolean
  server: string | undefined
  loadgen: string | undefined
  note: string
}

/** taskset -c 0 for servers, -c 1 for this process (the load generator), when both exist. */
export function choosePinning (wanted: boolean): Pinning {
  if (!wanted) return { enabled: false, server: undefined, loadgen: undefined, note: 'pinning disabled (--no-pin): server and load generator share all cores' }
  if (process.platform !== 'linux') return { enabled: false, server: undefined, loadgen: undefined, note: 'not Linux: no taskset, unpinned' }
  if (availableParallelism() < 2) return { enabled: false, server: undefined, loadgen: undefined, note: 'fewer than 2 CPUs: unpinned' }
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
  } catch {
    return { enabled: false, server: undefined, loadgen: undefined, note: 'taskset not found (util-linux): unpinned, numbers are noisier and lower' }
  }
  return { enabled: true, server: '0', loadgen: '1', note: 'server: taskset -c 0; load generator (this process, all threads): taskset -a -p -c 1' }
}

/** Moves every thread of this process to `cpus` (new threads inherit it). */
export function pinSelf (cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' })
}

/** Cpus_allowed_list of a process, from /proc: proof of pinning. */
export function allowedCpus (pid: number): string | undefined {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  } catch {
    return undefined
  }
}

export interface StartOptions {
  pinning: Pinning
  env?: Record<string, string>
  nodeArgs?: string[]
  /** Where the server's stdout goes: a file path, or /dev/null (default). */
  stdoutFile?: string
  /** Another compiled server script in place of bench/.build/bench/servers/<id>.js (experiments). */
  script?: string
}

export class ServerProcess {
  #waiting: Array<(stats: ServerStats) => void> = []
  exited: Promise<number | null>

  private constructor (readonly id: ServerId, readonly child: ChildProcess, readonly port: number) {
    child.on('message', (message: { type: string }) => {
      if (message.type === 'stats') this.#waiting.shift()?.(message as ServerStats)
    })
    this.exited = new Promise(resolve => {
      if (child.exitCode !== null) resolve(child.exitCode)
      else child.once('exit', code => resolve(code))
    })
  }

  get pid (): number {
    return this.child.pid as number
  }

  get url (): string {
    return `http://127.0.0.1:${this.port}/`
  }

  static async start (id: ServerId, options: StartOptions): Promise<ServerProcess> {
    const node = [...(options.nodeArgs ?? []), options.script ?? serverScript(id)]
    const [command, args] = options.pinning.enabled
      ? ['taskset', ['-c', options.pinning.server as string, process.execPath, ...node]]
      : [process.execPath, node]
    const stdout = options.stdoutFile === undefined ? 'ignore' : openSync(options.stdoutFile, 'w')
    const child = spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', stdout, 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production', ...options.env }
    })
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id}: not listening after 30 s`)), 30_000)
      child.once('error', reject)
      child.once('exit', code => reject(new Error(`${id}: exited with ${String(code)} before listening`)))
      child.on('message', (message: { type: string, port?: number }) => {
        if (message.type !== 'ready') return
        clearTimeout(timer)
        resolve(message.port as number)
      })
    })
    return new ServerProcess(id, child, port)
  }

  stats (gc = false): Promise<ServerStats> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}: no stats answer`)), 10_000)
      this.#waiting.push(stats => { clearTimeout(timer); resolve(stats) })
      this.child.send({ type: 'stats', gc })
    })
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null) return
    if (this.child.connected) this.child.send({ type: 'exit' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** Busy and total jiffies per CPU from /proc/stat (undefined off Linux). */
export function cpuTimes (): Map<string, { busy: number, total: number }> | undefined {
  try {
    const out = new Map<string, { busy: number, total: number }>()
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^(cpu\d*)\s+(.*)$/.exec(line)
      if (m === null) continue
      const v = m[2].trim().split(/\s+/).map(Number)
      // user nice system idle iowait irq softirq steal guest guest_nice; guest is already in user.
      const idle = v[3] + (v[4] ?? 0)
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
      out.set(m[1], { busy: total - idle, total })
    }
    return out
  } catch {
    return undefined
  }
}

export const CLOCK_TICKS = 100

/** CPU used by everything on the machine over `ms`, in % of one core (our processes should be idle then). */
export async function machineBusyPct (ms = 1000): Promise<number | undefined> {
  const a = cpuTimes()
  await new Promise(resolve => setTimeout(resolve, ms))
  const b = cpuTimes()
  if (a === undefined || b === undefined) return undefined
  return 100 * (((b.get('cpu')?.busy ?? 0) - (a.get('cpu')?.busy ?? 0)) * 1000 / CLOCK_TICKS) / ms
}

/**
 * Waits until the machine is quiet: other processes (tests, builds) on a 2-core box would take CPU
 * from the pinned server or load generator and make the numbers mean nothing. Returns how long it
 * waited and how busy the machine was at the end.
 */
export async function waitForQuiet (thresholdPct: number, maxWaitSec: number, log: (text: string) => void): Promise<{ waitedSec: number, busyPct: number | undefined }> {
  const start = performance.now()
  let quietInARow = 0
  let said = false
  for (;;) {
    const busy = await machineBusyPct(500)
    const waited = (performance.now() - start) / 1000
    if (busy === undefined) return { waitedSec: waited, busyPct: undefined }
    quietInARow = busy <= thresholdPct ? quietInARow + 1 : 0
    if (quietInARow >= 2) return { waitedSec: waited, busyPct: busy }
    if (waited >= maxWaitSec) {
      log(`  machine still busy (${busy.toFixed(0)}% of a core used by other processes) after ${maxWaitSec} s; going on anyway`)
      return { waitedSec: waited, busyPct: busy }
    }
    if (!said && busy > thresholdPct) {
      log(`  machine busy (${busy.toFixed(0)}% of a core used by other processes): waiting for it to calm down (up to ${maxWaitSec} s)`)
      said = true
    }
  }
}
