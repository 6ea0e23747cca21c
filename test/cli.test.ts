// The sender CLI, run as a user runs it: `node --import tsx src/cli/send.ts ...`.
import { execFile } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { checkSecurity, computeSecurity } from '../index.js'
import type { SampleBody } from '../src/samples.js'
import { buildService } from '../service/app.js'
import { loadConfig } from '../service/config.js'
import { recorder, sample, sampleNames } from './helpers/callbacks.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI without the caller's EASEMOB_* variables unless given. */
function cli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('EASEMOB_')) clean[key] = value
  return new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/send.ts', ...args], { cwd: ROOT, env: { ...clean, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, stdout, stderr })
      })
  })
}

function printed (run: Run): SampleBody[] {
  return run.stdout.trim().split('\n').map(line => JSON.parse(line) as SampleBody)
}

t.test('--list names every sample with its kind', async t => {
  const run = await cli(['--list'])
  t.equal(run.code, 0)
  const rows = new Map(run.stdout.trim().split('\n').map(line => line.trim().split(/\s+/) as [string, string]))
  t.same([...rows.keys()].sort(), sampleNames().sort(), 'one row per sample')
  t.equal(rows.get('post_chat_txt'), 'txt')
  t.equal(rows.get('post_chat_combine'), 'combine')
  t.equal(rows.get('post_group_read_ack'), 'read_ack')
  t.equal(rows.get('post_user_login'), 'user_status')
  t.equal(rows.get('post_sensitive_word'), 'keyword_alert')
  t.equal(rows.get('legacy_sample_project_video_as_audio'), 'audio')
  t.equal(rows.get('pre_send_txt'), 'pre-send')
})

t.test('--print txt prints one fresh body signed with --secret', async t => {
  const before = Date.now()
  const run = await cli(['--print', 'txt', '--secret', 'cli-secret'])
  const after = Date.now()
  t.equal(run.code, 0, run.stderr)
  const bodies = printed(run)
  t.equal(bodies.length, 1)
  const body = bodies[0] as SampleBody & { security: string }
  const original = sample('post_chat_txt')
  t.ok(body.callId.startsWith(`${original.callId}-`), 'a new callId derived from the sample\'s')
  t.not(body.callId, original.callId)
  t.type(body.timestamp, 'number')
  t.ok(Number(body.timestamp) >= before && Number(body.timestamp) <= after, 're-stamped now')
  t.equal(body.security, computeSecurity(body.callId, 'cli-secret', body.timestamp), 'signed with the given secret')
  t.equal(checkSecurity(body.security, body.callId, body.timestamp, ['test-secret']), 'mismatch', 'not with the default one')
  t.same({ ...body, callId: original.callId, timestamp: original.timestamp, security: original.security }, original, 'otherwise the sample as it is')
})

t.test('--print by sample name, several at once, default secret from EASEMOB_SECRETS', async t => {
  const run = await cli(['--print', 'post_group_info', 'user_status'], { EASEMOB_SECRETS: ' env-first , env-second' })
  t.equal(run.code, 0, run.stderr)
  const bodies = printed(run)
  t.equal(bodies.length, 2)
  t.equal(bodies[0].event, 'group_op_event')
  t.equal(bodies[1].reason, 'login', 'a kind picks the first sample of that kind')
  for (const body of bodies) t.equal(checkSecurity(String(body.security), body.callId, body.timestamp, ['env-first']), 'ok')
})

t.test('--print without EASEMOB_SECRETS signs with test-secret', async t => {
  const run = await cli(['--print', 'post_chat_loc'])
  const [body] = printed(run)
  t.equal(checkSecurity(String(body.security), body.callId, body.timestamp, ['test-secret']), 'ok')
})

t.test('an unknown name fails with a message', async t => {
  const run = await cli(['--print', 'no_such_thing'])
  t.equal(run.code, 2)
  t.match(run.stderr, /no sample or kind named "no_such_thing"/)
  t.equal(run.stdout, '')
})

t.test('--help', async t => {
  const run = await cli(['--help'])
  t.equal(run.code, 0)
  t.match(run.stdout, /usage: easemob-callback-send/)
})

t.test('sends every post-send sample to a running service, which takes them all', async t => {
  const rec = recorder(['*'])
  const app = await buildService(loadConfig({ EASEMOB_SECRETS: 'live-secret', SINKS: 'log' }), { logger: false, handlers: rec.handlers })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const run = await cli(['all', '--url', `http://127.0.0.1:${port}/`, '--secret', 'live-secret'])
  t.equal(run.code, 0, run.stderr)
  const lines = run.stdout.trim().split('\n')
  const expected = sampleNames().filter(name => !name.startsWith('pre_send'))
  t.equal(lines.length, expected.length, 'one line per post-send sample')
  for (const line of lines) t.match(line, / 200 \{"status":"ok"\}$/, line.split(' ')[0])
  t.equal(rec.calls.length, expected.length, 'each dispatched once')

  const wrong = await cli(['txt', '--url', `http://127.0.0.1:${port}/`, '--secret', 'not-the-secret'])
  t.equal(wrong.code, 1, 'a non-200 answer fails the run')
  t.match(wrong.stdout, /401/)
})
