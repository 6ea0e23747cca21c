// A throw-away redis-server per test file: its own free port and directory, never the machine's
// shared Redis. Durable as the docs ask for (AOF, fsync on every write), so that a test can kill it
// and start it again on the same port and directory and find what it had acknowledged.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** How long redis-server has to answer PING after it is started. */
const START_TIMEOUT_MS = 10_000

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisServerMissing (): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined) return 'redis-server is not on PATH (install Redis, e.g. apt-get install redis-server); the Redis tests need a real one'
  return undefined
}

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no TCP port was given')
  return address.port
}

/** Whether a Redis on `port` answers PING now. */
function answersPing (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(500, () => { done(false) })
    socket.on('error', () => { done(false) })
    socket.on('connect', () => { socket.write('PING\r\n') })
    socket.on('data', chunk => {
      reply += String(chunk)
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

export class RedisServer {
  readonly port: number
  readonly dir: string
  #process: ChildProcess | undefined
  #exited: Promise<void> | undefined
  /** The end of what redis-server printed, for the message when it does not start. */
  #output = ''

  private constructor (port: number, dir: string) {
    this.port = port
    this.dir = dir
  }

  /** A new server on a free port with an empty directory, answering PING. */
  static async start (): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), await mkdtemp(join(tmpdir(), 'easemob-redis-')))
    await server.start()
    return server
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts (again) on the same port and directory; resolves once it answers PING. */
  async start (): Promise<void> {
    if (this.#process !== undefined) throw new Error('redis-server is already running')
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'always', '--dir', this.dir, '--daemonize', 'no', '--logfile', ''
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (chunk: Buffer): void => { this.#output = (this.#output + String(chunk)).slice(-4000) }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    this.#process = child
    // 'error' (it could not be spawned) ends it as well as 'exit' does.
    this.#exited = once(child, 'exit').then(() => {}, () => {}).finally(() => { this.#process = undefined })
    let exited = false
    void this.#exited.then(() => { exited = true })
    const deadline = Date.now() + START_TIMEOUT_MS
    while (!await answersPing(this.port)) {
      if (exited) throw new Error(`redis-server exited at start:\n${this.#output}`)
      if (Date.now() > deadline) {
        await this.stop('SIGKILL')
        throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms:\n${this.#output}`)
      }
      // A connection refused comes back at once: wait a moment before knocking again.
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }

  /** Stops it (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for it to exit. */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#process
    if (child === undefined) return
    child.kill(signal)
    await this.#exited
  }

  /** Kills it and removes its directory. */
  async destroy (): Promise<void> {
    await this.stop('SIGKILL')
    await rm(this.dir, { recursive: true, force: true })
  }
}
