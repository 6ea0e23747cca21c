// npm run bench:instructions -- --server ID   instructions per callback, counted by callgrind
//
// Requests per second on a shared 2-core guest move by more than the changes worth measuring;
// instruction counts do not. This runs one benchmark server under `valgrind --tool=callgrind` with
// `node --predictable` (no background compiler or GC threads) twice, side by side: one process
// answers --counts' first number of signed callbacks of the benchmark's mix, the other the second,
// each over --connections keep-alive connections at once. The difference of the two totals divided
// by the difference of the counts is what one warm callback costs, start-up and warm-up cancelled.
// Threads are counted (libuv's thread pool writes the log lines); the kernel's share is not.
// The server runs without the IPC channel `npm run bench` gives it: under callgrind that channel
// added about 15,000 instructions to every callback (135,600 against 118,100 for the same server),
// which requests per second with and without it do not show. It says its port on stderr instead.
//
// The servers read their set-up from the environment as under `npm run bench`: BENCH_LOG_LEVEL
// (info, warn, off) and BENCH_2B_LINE (server 2b: pino, no-write, template, none).
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { parseArgs } from 'node:util'
import { OK_BODY } from './lib/load.js'
import { BodySource, buildMix, httpRequest } from './lib/mix.js'
import { buildServers, ROOT, SERVER_IDS, type ServerId, serverScript } from './lib/proc.js'

const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: 'full' },
    counts: { type: 'string', default: '4000,12000' },
    connections: { type: 'string', default: '32' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (args.help) {
  process.stdout.write(`npm run bench:instructions -- [options]   (needs valgrind; about 1 minute)
  --server ID         ${SERVER_IDS.join(', ')} (full)
  --counts A,B        callbacks answered by the two processes (4000,12000); per callback = (IrB - IrA) / (B - A)
                      (the JIT is still at work over the first few thousand: smaller counts overstate)
  --connections N     keep-alive connections sending at once (32; 1 = one callback at a time)
Environment, read by the servers: BENCH_LOG_LEVEL (info), BENCH_2B_LINE (pino).
`)
  process.exit(0)
}

const server = args.server as ServerId
if (!SERVER_IDS.includes(server)) throw new Error(`--server must be one of ${SERVER_IDS.join(', ')}, got ${server}`)
const counts = args.counts.split(',').map(Number)
if (counts.length !== 2 || !counts.every(n => Number.isInteger(n) && n > 0) || counts[0] >= counts[1]) {
  throw new Error(`--counts must be two whole numbers, the smaller first, got ${args.counts}`)
}
const connections = Number(args.connections)
if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a whole number of at least 1, got ${args.connections}`)

/** Sends `total` signed callbacks over `connections` sockets, each waiting for its answer; counts answers that were not ok. */
async function send (port: number, total: number, tag: string): Promise<number> {
  const source = new BodySource(mix, tag, body => httpRequest('127.0.0.1', body))
  let sent = 0
  let answered = 0
  let notOk = 0
  await new Promise<void>((resolve, reject) => {
    for (let c = 0; c < Math.min(connections, total); c++) {
      const socket = connect(port, '127.0.0.1')
      let pending = ''
      const next = (): void => {
        if (sent < total) {
          sent++
          socket.write(source.next())
        } else {
          socket.end()
        }
      }
      socket.on('connect', next)
      socket.on('error', reject)
      socket.on('data', chunk => {
        pending += chunk.toString('latin1')
        for (;;) {
          const headEnd = pending.indexOf('\r\n\r\n')
          if (headEnd === -1) return
          const length = Number(/content-length: *(\d+)/i.exec(pending.slice(0, headEnd))?.[1] ?? 0)
          if (pending.length < headEnd + 4 + length) return
          const status = pending.slice(9, 12)
          const body = pending.slice(headEnd + 4, headEnd + 4 + length)
          pending = pending.slice(headEnd + 4 + length)
          if (status !== '200' || body !== OK_BODY) notOk++
          if (++answered === total) resolve()
          next()
        }
      })
    }
  })
  return notOk
}

/** One server process under callgrind answering `total` callbacks; its instruction total. */
async function count (total: number): Promise<number> {
  const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', serverScript(server)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' }
  })
  let stderr = ''
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server} under valgrind: not listening after 180 s\n${stderr}`)), 180_000)
    child.once('exit', code => reject(new Error(`${server} under valgrind exited with ${String(code)} before listening\n${stderr}`)))
    // All of stderr is kept: the port comes first, callgrind's total at exit.
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      const found = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)
      if (found === null) return
      clearTimeout(timer)
      resolve(Number(found[1]))
    })
  })
  const notOk = await send(port, total, `ir${Date.now()}-${total}`)
  child.kill('SIGTERM')
  await exited
  if (notOk > 0) throw new Error(`${server}: ${notOk} of ${total} answers were not 200 {"status":"ok"}`)
  const collected = /Collected : (\d+)/.exec(stderr)
  if (collected === null) throw new Error(`${server}: callgrind printed no total\n${stderr}`)
  return Number(collected[1])
}

buildServers()
const mix = buildMix()
process.stdout.write(`${server} under callgrind, ${connections} connection(s), BENCH_LOG_LEVEL=${process.env.BENCH_LOG_LEVEL ?? 'info'}${server === 'fastify-handwritten' ? `, BENCH_2B_LINE=${process.env.BENCH_2B_LINE ?? 'pino'}` : ''} ...\n`)
const [low, high] = await Promise.all(counts.map(count))
const perCallback = (high - low) / (counts[1] - counts[0])
process.stdout.write(`${counts[0]} callbacks: ${low.toLocaleString('en')} instructions; ${counts[1]}: ${high.toLocaleString('en')}\n`)
process.stdout.write(`per callback: ${Math.round(perCallback).toLocaleString('en')} instructions\n`)
