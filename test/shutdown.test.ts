import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { buildService } from '../service/app.js'
import { loadConfig } from '../service/config.js'
import { NOW, sample, signed } from './helpers/callbacks.js'

t.test('closing waits for in-flight callbacks and then refuses new ones', async t => {
  let entered: () => void = () => {}
  const handlerEntered = new Promise<void>(resolve => { entered = resolve })
  let finish: () => void = () => {}
  const handlerMayFinish = new Promise<void>(resolve => { finish = resolve })
  const app = await buildService(loadConfig({ EASEMOB_SECRETS: 'test-secret' }), {
    logger: false,
    now: () => NOW,
    handlers: { txt: async () => { entered(); await handlerMayFinish } }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`
  const inFlight = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: signed(sample('post_chat_txt')) })
  await handlerEntered
  const closed = app.close()
  finish()
  const response = await inFlight
  t.equal(response.status, 200, 'the in-flight callback completed')
  t.same(await response.json(), { status: 'ok' })
  await closed
  await t.rejects(fetch(url, { method: 'POST', body: '{}' }), 'the port is closed afterwards')
})

t.test('SIGTERM stops the service cleanly with exit code 0', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    env: { ...process.env, EASEMOB_SECRETS: 'test-secret', PORT: '18123', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const listening = new Promise<void>(resolve => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += String(chunk)
      if (output.includes('Server listening')) resolve()
    })
  })
  await listening
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0)
  t.match(output, /shutting down/)
})
