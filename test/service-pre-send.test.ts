import { spawnSync } from 'node:child_process'
import t from 'tap'
import { RulesFileError } from '../src/pre-send/rules/index.js'
import { buildService } from '../service/app.js'
import { loadConfig } from '../service/config.js'
import { NOW, post, sample, signed } from './helpers/callbacks.js'

function preSendText (msg: string, callId: string): string {
  return signed({ ...sample('pre_send_txt'), payload: { type: 'txt', msg } }, { callId })
}

t.test('PRE_SEND_RULES enables /pre-send with the rules file as the policy', async t => {
  const config = loadConfig({ EASEMOB_SECRETS: 'test-secret', SINKS: 'log', PRE_SEND_RULES: 'examples/pre-send-rules.yaml' })
  const app = await buildService(config, { logger: false, now: () => NOW, watchRules: false })
  t.teardown(() => app.close())
  t.equal((await post(app, preSendText('is the build green?', 'clean'), '/pre-send')).body, '{"valid":true}')
  t.same(JSON.parse((await post(app, preSendText('free bitcoin here', 'scam'), '/pre-send')).body), { valid: false, code: 'HX:10001' })
  const masked = JSON.parse((await post(app, preSendText('call １３９１２３４５６７８', 'phone'), '/pre-send')).body)
  t.same(masked, { valid: true, payload: { type: 'txt', msg: 'call ***********' } })
  t.equal((await post(app, signed(sample('post_chat_txt')))).statusCode, 200, 'post-send still at /')
})

t.test('without PRE_SEND_RULES there is no pre-send route', async t => {
  const app = await buildService(loadConfig({ EASEMOB_SECRETS: 'test-secret', SINKS: 'log' }), { logger: false, now: () => NOW })
  t.teardown(() => app.close())
  t.equal((await post(app, preSendText('hi', 'none'), '/pre-send')).statusCode, 404)
})

t.test('a broken rules file stops the service from starting, with the file and problem named', async t => {
  const dir = t.testdir({ 'rules.yaml': 'rules:\n  - name: x\n    action: explode\n    words: [a]\n' })
  const config = loadConfig({ EASEMOB_SECRETS: 'test-secret', SINKS: 'log', PRE_SEND_RULES: `${dir}/rules.yaml` })
  await t.rejects(buildService(config, { logger: false }), RulesFileError)
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    env: { ...process.env, EASEMOB_SECRETS: 'test-secret', PRE_SEND_RULES: `${dir}/rules.yaml` },
    encoding: 'utf8'
  })
  t.equal(run.status, 1)
  t.match(run.stderr, /rules\.yaml/)
  t.match(run.stderr, /action/)
})

t.test('a bad environment stops the service with every problem named', async t => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    env: { ...process.env, EASEMOB_SECRETS: '', PORT: 'abc' },
    encoding: 'utf8'
  })
  t.equal(run.status, 1)
  t.match(run.stderr, /PORT="abc"/)
  t.match(run.stderr, /EASEMOB_SECRETS/)
})
