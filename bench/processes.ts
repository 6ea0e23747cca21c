// The server processes: building them, pinning, starting one and knowing when it listens, stopping it.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SECRET } from './bodies.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** One server to measure: a script run with node, its environment besides PORT, and whether it checks signatures (so a forged one must get 401). */
export interface ServerRow {
  id: string
  name: string
  script: string
  env?: Record<string, string>
  checksSignature: boolean
  /** Also compared with this row (a variant of the service with the plain one, say). */
  versus?: string
}

/** The real service as `npm start` runs it, with the log as its only sink: one line per callback to stdout. */
export const SERVICE = { script: 'dist/service/main.js', env: { EASEMOB_SECRETS: SECRET, HOST: '127.0.0.1', LOG_LEVEL: 'info', SINKS: 'log' } }

export const builtServer = (name: string): string => join(ROOT, 'bench', '.build', 'bench', 'servers', `${name}.js`)

/**
 * dist/ for the service (`npm run build` when a source is newer, as `npm start` does) and bench/.build.
 * tsc writes its output despite type errors (others may be mid-edit): reported, and the run goes on.
 */
export function build (): void {
  for (const args of [['scripts/build-if-stale.mjs'], ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.json']]) {
    const { status } = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 2, 2] })
    if (status !== 0) process.stderr.write(`bench: ${args.join(' ')} failed (above); going on with what it built\n`)
  }
  for (const script of [SERVICE.script, builtServer('node-http')]) {
    if (!existsSync(resolve(ROOT, script))) throw new Error(`bench: ${script} was not built`)
  }
}

/**
 * With taskset and two CPUs: the servers on CPU 0, this process (the load generator, all its
 * threads) on CPU 1, so that neither takes the other's CPU. After build(): children inherit it.
 */
export function pin (): { wrap: string[], note: string } {
  if (availableParallelism() < 2 || spawnSync('taskset', ['-V']).status !== 0) {
    return { wrap: [], note: 'UNPINNED (no taskset or one CPU): server and load generator share the CPUs' }
  }
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  return { wrap: ['taskset', '-c', '0'], note: 'server pinned to CPU 0, load generator to CPU 1 (taskset)' }
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/**
 * Starts `row` on a free port, `wrap` (taskset) before node, its stdout (the log lines) to /dev/null.
 * Ready once GET /healthz gets any answer: the service's health route, a 404 from the others.
 */
export async function startServer (row: ServerRow, wrap: string[]): Promise<{ url: string, host: string, stop: () => Promise<void> }> {
  const port = await freePort()
  // DATA_DIR, where the service keeps its outbox: a new one per process, so that no callId is
  // remembered from an earlier start (a fresh process is a fresh start), removed when it stops.
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-data-'))
  const [command, ...args] = [...wrap, process.execPath, row.script]
  const env = { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, ...row.env, PORT: String(port) }
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
    rmSync(dataDir, { recursive: true, force: true })
  }
  for (const deadline = Date.now() + 30_000; ; await new Promise(resolve => setTimeout(resolve, 50))) {
    const problem = child.exitCode !== null || child.signalCode !== null ? 'exited before listening' : Date.now() > deadline ? 'not listening after 30 s' : undefined
    if (problem !== undefined) {
      await stop()
      throw new Error(`${row.name}: ${problem}`)
    }
    try {
      await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()
      return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, stop }
    } catch {}
  }
}
