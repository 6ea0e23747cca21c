// A throw-away nats-server with JetStream for the tests: its own free port and store folder, never
// the machine's shared server on :4222. It can be stopped gracefully and started again on the same
// port and folder, as an operator's restart would.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect as connectTcp } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { freePort } from './service-process.js'

/** How long a start or a stop may take before the test fails instead of hanging. */
const STEP_DEADLINE_MS = 10_000

export interface NatsServer {
  port: number
  /** `nats://127.0.0.1:<port>` (with `user:pass@` when started with credentials). */
  url: string
  storeDir: string
  /** SIGTERM (the server's graceful shutdown: JetStream flushed and closed), then waits for the exit. */
  stop: () => Promise<void>
  /** Starts it again on the same port and store folder; resolves once it accepts connections. */
  start: () => Promise<void>
  /** SIGSTOP / SIGCONT: a server that keeps its connections open but answers nothing, as a stalled one. */
  freeze: () => void
  thaw: () => void
}

interface Teardown {
  teardown: (fn: () => void | Promise<void>) => void
}

/** Why the JetStream tests cannot run here, or undefined when they can. */
export function natsServerMissing (): string | undefined {
  const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined) {
    return 'nats-server is not on PATH: install it (apt-get install nats-server, or a release from github.com/nats-io/nats-server) to run the JetStream tests'
  }
  return undefined
}

function deadline<T> (promise: Promise<T>, what: string, output: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`nats-server: ${what} took over ${STEP_DEADLINE_MS} ms\n${output()}`)), STEP_DEADLINE_MS)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** Resolves once a client connecting to `port` is greeted with the server's INFO line. */
async function greeted (port: number): Promise<void> {
  const socket = connectTcp(port, '127.0.0.1')
  try {
    let text = ''
    socket.setEncoding('utf8')
    for await (const chunk of socket) {
      text += chunk as string
      if (text.includes('\r\n')) break
    }
    if (!text.startsWith('INFO ')) throw new Error(`nats-server on ${port} answered ${JSON.stringify(text.slice(0, 80))}`)
  } finally {
    socket.destroy()
  }
}

/**
 * Starts `nats-server -js` on a free port of 127.0.0.1 with a store folder of its own (removed
 * after the test), and waits until it accepts connections. `auth` makes it require a user and
 * password.
 */
export async function startNatsServer (t: Teardown, auth?: { user: string, pass: string }): Promise<NatsServer> {
  const port = await freePort()
  const storeDir = mkdtempSync(join(tmpdir(), 'easemob-nats-'))
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir]
  if (auth !== undefined) args.push('--user', auth.user, '--pass', auth.pass)
  let child: ChildProcessByStdio<null, Readable, Readable> | undefined
  let exited: Promise<unknown> = Promise.resolve()
  let output = ''

  async function start (): Promise<void> {
    if (child !== undefined) throw new Error('nats-server is already running')
    output = ''
    const started = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    exited = once(started, 'exit')
    started.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    started.stderr.setEncoding('utf8')
    // The server logs to stderr; "Server is ready" comes once it listens, JetStream recovered first.
    const ready = new Promise<void>((resolve, reject) => {
      started.stderr.on('data', (chunk: string) => {
        output += chunk
        if (output.includes('Server is ready')) resolve()
      })
      exited.then(() => reject(new Error(`nats-server exited before it was ready:\n${output}`)), reject)
    })
    await deadline(ready.then(() => greeted(port)), 'start', () => output)
  }

  async function stop (): Promise<void> {
    const running = child
    if (running === undefined) return
    child = undefined
    if (running.exitCode === null && running.signalCode === null) running.kill('SIGTERM')
    await deadline(exited, 'graceful stop', () => output)
  }

  t.teardown(async () => {
    // SIGKILL ends a frozen server too.
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    child = undefined
    await exited
    rmSync(storeDir, { recursive: true, force: true })
  })
  await start()
  const credentials = auth === undefined ? '' : `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@`
  const signal = (name: NodeJS.Signals) => () => { child?.kill(name) }
  return { port, url: `nats://${credentials}127.0.0.1:${port}`, storeDir, stop, start, freeze: signal('SIGSTOP'), thaw: signal('SIGCONT') }
}
