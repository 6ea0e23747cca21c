// The child side of the benchmark's control channel. Every server is started by bench/run.ts with an
// IPC channel; it says when it listens, answers memory/CPU questions, and exits when told (a clean
// exit, so that `--cpu-prof` gets to write its profile).
import { performance } from 'node:perf_hooks'

export interface ServerStats {
  type: 'stats'
  /** process.memoryUsage() at the time of the question (before any GC it asked for). */
  memory: NodeJS.MemoryUsage
  /** heapUsed right after a full GC, when the server runs with --expose-gc and the question asked for it. */
  heapAfterGc?: number
  /** Total CPU time of the process so far, µs. */
  cpu: NodeJS.CpuUsage
  /** Event-loop utilisation so far (cumulative; diff two of them). */
  elu: { idle: number, active: number, utilization: number }
  /** process.hrtime.bigint() as a decimal string, ns: same clock as the .cpuprofile timestamps (µs). */
  hrtime: string
}

type Control = { type: 'stats', gc?: boolean } | { type: 'exit' }

const OK = '{"status":"ok"}'
/** The one answer every benchmark server gives to a good callback, byte for byte the plugin's. */
export const OK_BODY = OK
export const OK_LENGTH = String(Buffer.byteLength(OK))

function stats (gc: boolean): ServerStats {
  const memory = process.memoryUsage()
  const collect = (globalThis as { gc?: () => void }).gc
  let heapAfterGc: number | undefined
  if (gc && collect !== undefined) {
    collect()
    heapAfterGc = process.memoryUsage().heapUsed
  }
  const elu = performance.eventLoopUtilization()
  return {
    type: 'stats',
    memory,
    heapAfterGc,
    cpu: process.cpuUsage(),
    elu: { idle: elu.idle, active: elu.active, utilization: elu.utilization },
    hrtime: process.hrtime.bigint().toString()
  }
}

/**
 * Tells the parent the port and serves its questions. `close` stops the server; the process then
 * exits on its own (or is made to, after a second).
 */
export function announce (name: string, port: number, close: () => Promise<void> | void): void {
  if (process.send === undefined) {
    process.stderr.write(`${name} listening on http://127.0.0.1:${port} (no IPC channel: not started by bench/run.ts)\n`)
    return
  }
  process.on('message', (message: Control) => {
    if (message.type === 'stats') {
      process.send?.(stats(message.gc === true))
    } else if (message.type === 'exit') {
      const force = setTimeout(() => process.exit(0), 1000)
      Promise.resolve(close()).then(() => {
        clearTimeout(force)
        process.exit(0)
      }, () => process.exit(0))
    }
  })
  // The parent went away (crashed or killed): do not linger on the pinned core.
  process.on('disconnect', () => process.exit(0))
  process.send({ type: 'ready', name, port, pid: process.pid })
}

/** Port from argv (`--port N`), default 0: the OS picks one and the parent is told. */
export function portFromArgs (): number {
  const i = process.argv.indexOf('--port')
  return i === -1 ? 0 : Number(process.argv[i + 1])
}
