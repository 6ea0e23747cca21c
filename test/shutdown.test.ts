// Stopping and timeouts of the real service process: SIGTERM never waits on a client, a slow or
// stuck client is cut off, and `npm start` passes signals to the service.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { signCallback } from '../index.js'
import { sample } from './helpers/callbacks.js'
import { freePort, startService, type ServiceProcess } from './helpers/service-process.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** A raw HTTP/1.1 connection, to send a request in pieces and read exactly what comes back. */
async function rawConnection (port: number): Promise<{ socket: Socket, received: () => string, waitFor: (text: string) => Promise<void> }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { received += chunk })
  const waitFor = async (text: string): Promise<void> => {
    while (!received.includes(text)) await Promise.race([once(socket, 'data'), once(socket, 'close')])
  }
  return { socket, received: () => received, waitFor }
}

/** A signed callback split into headers that ask for 100 Continue (so we know the server has them) and a body. */
function requestInTwo (): { head: string, body: string } {
  const body = JSON.stringify(signCallback(sample('post_chat_txt'), 'test-secret', Date.now()))
  const head = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: keep-alive\r\nExpect: 100-continue\r\n\r\n'
  return { head, body }
}

async function untilLogged (service: ServiceProcess, msg: string): Promise<void> {
  while (!service.lines().some(line => line.msg === msg)) await once(service.child.stdout, 'data')
}

t.test('SIGTERM closes idle keep-alive connections instead of waiting for them', async t => {
  const service = await startService(t, { KEEP_ALIVE_TIMEOUT_MS: '600000', SHUTDOWN_TIMEOUT_MS: '30000' })
  const { socket, waitFor } = await rawConnection(service.port)
  const { head, body } = requestInTwo()
  socket.write(head.replace('Expect: 100-continue\r\n', '') + body)
  await waitFor('{"status":"ok"}')
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0, 'exits 0, not at the shutdown bound')
  t.notOk(service.lines().some(line => line.msg?.toString().startsWith('shutdown bound')), 'nothing was cut off')
  t.ok(socket.destroyed || (await once(socket, 'close'), true), 'the idle connection was closed by the service')
})

t.test('a callback in flight at SIGTERM is answered with Connection: close, then the service exits', async t => {
  const service = await startService(t, { KEEP_ALIVE_TIMEOUT_MS: '600000' })
  const { socket, received, waitFor } = await rawConnection(service.port)
  const { head, body } = requestInTwo()
  socket.write(head)
  await waitFor('100 Continue')
  service.child.kill('SIGTERM')
  await untilLogged(service, 'shutting down: finishing in-flight callbacks')
  socket.write(body)
  await once(socket, 'close')
  t.match(received(), /HTTP\/1\.1 200 OK/)
  t.match(received(), /\r\nconnection: close\r\n/i)
  t.match(received(), /\{"status":"ok"\}$/)
  t.equal(await service.exited, 0)
})

t.test('a client that never finishes its body is cut off at SHUTDOWN_TIMEOUT_MS, and that is logged', async t => {
  const service = await startService(t, { SHUTDOWN_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '600000' })
  const { socket, waitFor } = await rawConnection(service.port)
  socket.write(requestInTwo().head)
  await waitFor('100 Continue')
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 1, 'exit code 1: work was cut off')
  const cut = service.lines().find(line => String(line.msg).startsWith('shutdown bound reached'))
  t.match(cut, { level: 50, connections: 1, timeoutMs: 500 })
})

t.test('a body that stops arriving is answered 408 after REQUEST_TIMEOUT_MS', async t => {
  const service = await startService(t, { REQUEST_TIMEOUT_MS: '1000' })
  const { socket, received } = await rawConnection(service.port)
  const { head, body } = requestInTwo()
  socket.write(head.replace('Expect: 100-continue\r\n', '') + body.slice(0, 20))
  await once(socket, 'close')
  t.match(received(), /^HTTP\/1\.1 408 /)
})

t.test('npm start passes SIGTERM to the service: no process is left behind', async t => {
  const port = await freePort()
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, EASEMOB_SECRETS: 'test-secret', PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (npm.exitCode === null) npm.kill('SIGKILL') })
  let output = ''
  npm.stdout.setEncoding('utf8')
  while (!output.includes('Server listening')) output += String((await once(npm.stdout, 'data'))[0])
  const pid = Number(/"pid":(\d+)/.exec(output)?.[1])
  t.ok(pid > 0, 'the service says its pid')
  npm.kill('SIGTERM')
  await once(npm, 'exit')
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the service process is gone')
})
