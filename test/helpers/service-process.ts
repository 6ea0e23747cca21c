// The real service as a child process (`node --import tsx service/main.ts`), for tests that must
// see what a user sees: HTTP on a real port, signals, the process's own memory and log lines.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ServiceProcess {
  child: ChildProcessByStdio<null, Readable, Readable>
  port: number
  url: string
  /** Every JSON log line so far, parsed. */
  lines: () => Array<Record<string, unknown>>
  /** The service's resident memory now, in MB. */
  rssMb: () => number
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

interface Teardown {
  teardown: (fn: () => void | Promise<void>) => void
}

/** A folder for one test's outbox, removed after it. */
export function dataDir (t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'easemob-data-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Starts the service with `env` (on top of a test secret, a free port and an outbox folder of its
 * own) and waits until it listens.
 */
export async function startService (t: Teardown, env: Record<string, string> = {}, command: string[] = ['--import', 'tsx', 'service/main.ts']): Promise<ServiceProcess> {
  const port = await freePort()
  env = { DATA_DIR: dataDir(t), ...env }
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(EASEMOB_|PRE_?SEND_|SINKS$|DATA_DIR$|FORWARD_|OUTBOX_|ADMIN_TOKEN$)/.test(key)))
  const child = spawn(process.execPath, command, {
    cwd: ROOT,
    env: { ...clean, EASEMOB_SECRETS: 'test-secret', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => { output += chunk })
  let errors = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => { errors += chunk })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  await new Promise<void>((resolve, reject) => {
    const check = (): void => { if (output.includes('Server listening')) resolve() }
    child.stdout.on('data', check)
    exited.then(code => reject(new Error(`the service exited (${String(code)}) before listening: ${errors}${output}`)), reject)
  })
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    lines: () => output.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as Record<string, unknown>),
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
    exited
  }
}

/** POSTs a JSON text and returns the status and parsed body. */
export async function postJson (url: string, body: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}
