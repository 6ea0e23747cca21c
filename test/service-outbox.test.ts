// The service with its outbox and forwarder, as a process: what is answered 200 survives kill -9
// and reaches the backend, signed so that the standardwebhooks library verifies it; /readyz,
// the admin routes and the operator's command line.
import Database from 'better-sqlite3'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { signCallback } from '../index.js'
import { sample } from './helpers/callbacks.js'
import { dataDir, postJson, startService } from './helpers/service-process.js'

const FORWARD_SECRET = `whsec_${Buffer.from('a backend secret of 32 bytes!!!!').toString('base64')}`
const ADMIN_TOKEN = 'admin-token-0123456789'

interface Received {
  headers: Record<string, string>
  event: Record<string, unknown>
}

/** A backend: verifies each delivery with the standardwebhooks package; `status` decides the answer. */
async function backend (t: { teardown: (fn: () => Promise<void>) => void }): Promise<{ url: string, received: Received[], status: { code: number }, forged: number[] }> {
  const webhook = new Webhook(FORWARD_SECRET)
  const received: Received[] = []
  const forged: number[] = []
  const status = { code: 200 }
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => { text += chunk })
    request.on('end', () => {
      const headers = request.headers as Record<string, string>
      try {
        webhook.verify(text, headers)
      } catch {
        forged.push(received.length)
        response.writeHead(401).end()
        return
      }
      if (status.code === 200) received.push({ headers, event: JSON.parse(text) as Record<string, unknown> })
      response.writeHead(status.code, status.code === 503 ? { 'retry-after': '0.05' } : {}).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => { server.close(); await once(server, 'close') })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/easemob`, received, status, forged }
}

function callback (n: number, from = 'alice'): Record<string, unknown> {
  return signCallback({ ...sample('post_chat_txt'), callId: `acme#app_${n}`, from, msg_id: String(n) }, 'test-secret', Date.now())
}

async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise(resolve => setTimeout(resolve, 20))
}

t.test('answered 200 means delivered: kill -9 right after the answers, restart, and the backend gets everything once, in order', async t => {
  const api = await backend(t)
  api.status.code = 503
  const dir = dataDir(t)
  const env = { SINKS: 'log,sqlite,http', DATA_DIR: dir, FORWARD_URL: api.url, FORWARD_SECRET, FORWARD_RETRY_BASE_MS: '20', FORWARD_RETRY_MAX_MS: '100', FORWARD_MAX_ATTEMPTS: '100000' }
  const first = await startService(t, env)
  const answers = []
  for (let n = 1; n <= 30; n++) answers.push((await postJson(first.url, JSON.stringify(callback(n, n % 2 === 0 ? 'alice' : 'carol')))).body.status)
  t.same(new Set(answers), new Set(['ok']), 'all 30 answered 200 ok')
  first.child.kill('SIGKILL')
  await first.exited
  t.equal(api.received.length, 0, 'the backend was down: nothing delivered yet')

  api.status.code = 200
  const second = await startService(t, env)

  await until(() => api.received.length >= 30)
  const callIds = api.received.map(entry => String(entry.event.callId))
  t.equal(new Set(callIds).size, 30, 'every callback answered 200 arrived')
  t.equal(api.forged.length, 0, 'every delivery verified with standardwebhooks')
  for (const from of ['alice', 'carol']) {
    const order = api.received.filter(entry => entry.event.from === from).map(entry => Number(entry.event.msg_id))
    t.same(order, [...order].sort((a, b) => a - b), `in order for ${from}`)
  }
  t.match(api.received[0], { headers: { 'webhook-id': /^msg_/, 'content-type': 'application/json' }, event: { kind: 'txt' } })
  t.same((await postJson(second.url, JSON.stringify(callback(7, 'carol')))).body, { status: 'duplicate' }, 'a replay after the restart is not taken again')
})

t.test('/readyz answers 503 while the outbox cannot be written', async t => {
  const dir = dataDir(t)
  const service = await startService(t, { DATA_DIR: dir })
  t.same(await (await fetch(`${service.url}/readyz`)).json(), { status: 'ready' })
  t.same(await (await fetch(`${service.url}/healthz`)).json(), { status: 'ok' })
  const lock = new Database(join(dir, 'outbox.db'))
  lock.exec('BEGIN EXCLUSIVE')
  const blocked = await fetch(`${service.url}/readyz`)
  t.equal(blocked.status, 503)
  t.match(await blocked.json(), { status: 'not ready', outbox: /locked/ })
  lock.exec('COMMIT')
  lock.close()
  t.equal((await fetch(`${service.url}/readyz`)).status, 200)
})

t.test('dead letters: listed, inspected and redelivered through the admin routes and the command line', async t => {
  const api = await backend(t)
  api.status.code = 500
  const dir = dataDir(t)
  const service = await startService(t, {
    SINKS: 'http', DATA_DIR: dir, FORWARD_URL: api.url, FORWARD_SECRET, FORWARD_MAX_ATTEMPTS: '2', FORWARD_RETRY_BASE_MS: '10', ADMIN_TOKEN
  })
  for (let n = 1; n <= 3; n++) await postJson(service.url, JSON.stringify(callback(n)))
  const admin = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${service.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } })
  t.equal((await fetch(`${service.url}/admin/outbox`)).status, 401, 'no token, no entry')
  for (;;) {
    const { counts } = await (await admin('/outbox')).json() as { counts: Record<string, number> }
    if (counts.dead === 3) break
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  const list = await (await admin('/outbox/callbacks?state=dead')).json() as { callbacks: Array<{ id: number, attempts: number, lastError: string }> }
  t.match(list.callbacks, [{ attempts: 2, lastError: /answered 500/ }, {}, {}])
  const one = await (await admin(`/outbox/callbacks/${list.callbacks[0].id}`)).json() as { event: { callId: string } }
  t.equal(one.event.callId, 'acme#app_1')

  api.status.code = 200
  t.same(await (await admin('/outbox/redeliver', { method: 'POST', body: JSON.stringify({ ids: [list.callbacks[0].id] }) })).json(), { redelivered: 1 })
  await until(() => api.received.length === 1)

  const cli = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'service/cli.ts', 'outbox', 'redeliver', '--state', 'dead', '--data-dir', dir, '--json'])
  t.same(JSON.parse(cli.stdout), { redelivered: 2 })
  await until(() => api.received.length === 3)
  const counts = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'service/cli.ts', 'outbox', 'counts', '--data-dir', dir])
  t.match(counts.stdout, /delivered\t3/)
})

t.test('without ADMIN_TOKEN there are no admin routes', async t => {
  const service = await startService(t)
  t.equal((await fetch(`${service.url}/admin/outbox`, { headers: { authorization: 'Bearer anything-at-all-here' } })).status, 404)
})
