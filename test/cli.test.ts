// The sender CLI, run as a user runs it: `node --import tsx src/cli/send.ts ...`.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { checkSecurity, computeSecurity } from '../index.js'
import { classify } from '../src/classify.js'
import type { SampleBody } from '../src/samples.js'
import { buildService } from '../service/app.js'
import { loadConfig } from '../service/config.js'
import { type Recorder, recorder, sample, sampleNames } from './helpers/callbacks.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

// Every case starts node with tsx (a second or two each, more on a busy machine): the cases, each
// with its own service, run side by side, and the file gets more than the default minute.
t.jobs = 4
t.setTimeout(180_000)

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI without the caller's EASEMOB_* variables and PORT unless given, with `input` on stdin. */
function cli (args: string[], env: Record<string, string> = {}, input = ''): Promise<Run> {
  const clean: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('EASEMOB_') && key !== 'PORT') clean[key] = value
  return new Promise(resolve => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/send.ts', ...args], { cwd: ROOT, env: { ...clean, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, stdout, stderr })
      })
    child.stdin?.end(input)
  })
}

interface Service {
  url: string
  port: number
  rec: Recorder
}

/** The service on a free port, with `env` as its configuration, every handler recorded. */
async function serve (t: Test, env: Record<string, string> = {}): Promise<Service> {
  const rec = recorder(['*'])
  const app = await buildService(loadConfig({ EASEMOB_SECRETS: 'live-secret', SINKS: 'log', ...env }), { logger: false, handlers: rec.handlers, watchRules: false })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, port, rec }
}

/** A port nothing listens on (it was free a moment ago). */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/** The names of the post-send samples of `kind`, in file-name order. */
function namesOfKind (kind: string): string[] {
  return sampleNames().filter(name => !name.startsWith('pre_send') && classify(sample(name)).kind === kind).sort()
}

function jsonLines (run: Run): Array<Record<string, unknown>> {
  return run.stdout.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
}

function printed (run: Run): SampleBody[] {
  return run.stdout.trim().split('\n').map(line => JSON.parse(line) as SampleBody)
}

t.test('--list names every sample with its kind and route', async t => {
  const run = await cli(['--list'])
  t.equal(run.code, 0)
  const table = run.stdout.trim().split('\n').map(line => line.trim().split(/\s+/) as [string, string, string])
  for (const [name, , route] of table) t.equal(route, name.startsWith('pre_send') ? 'pre-send' : 'post-send', name)
  const rows = new Map(table.map(([name, kind]) => [name, kind]))
  t.same([...rows.keys()].sort(), sampleNames().sort(), 'one row per sample')
  t.equal(rows.get('post_chat_txt'), 'txt')
  t.equal(rows.get('post_chat_combine'), 'combine')
  t.equal(rows.get('post_group_read_ack'), 'read_ack')
  t.equal(rows.get('post_user_login'), 'user_status')
  t.equal(rows.get('post_sensitive_word'), 'keyword_alert')
  t.equal(rows.get('legacy_sample_project_video_as_audio'), 'audio')
  t.equal(rows.get('pre_send_txt'), 'pre-send')
})

t.test('--print txt prints every txt sample, fresh and signed with --secret', async t => {
  const before = Date.now()
  const run = await cli(['--print', 'txt', '--secret', 'cli-secret'])
  const after = Date.now()
  t.equal(run.code, 0, run.stderr)
  const bodies = printed(run)
  t.same(bodies.map(body => body.callId.replace(/-[0-9a-f]{8}$/, '')), namesOfKind('txt').map(name => sample(name).callId), 'each txt sample, in order')
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
  t.equal(bodies.length, 4)
  t.equal(bodies[0].event, 'group_op_event')
  t.same(bodies.slice(1).map(body => body.reason), ['login', 'logout', 'replaced'], 'a kind picks every sample of that kind')
  for (const body of bodies) t.equal(checkSecurity(String(body.security), body.callId, body.timestamp, ['env-first']), 'ok')
})

t.test('--print without EASEMOB_SECRETS signs with test-secret', async t => {
  const run = await cli(['--print', 'post_chat_loc'])
  const [body] = printed(run)
  t.equal(checkSecurity(String(body.security), body.callId, body.timestamp, ['test-secret']), 'ok')
})

t.test('an unknown name fails with a message', async t => {
  const [run, preSend] = await Promise.all([cli(['--print', 'no_such_thing']), cli(['--print', '--pre-send'])])
  t.equal(run.code, 2)
  t.match(run.stderr, /no sample or kind named "no_such_thing"/)
  t.equal(run.stdout, '')
  t.equal(preSend.code, 2, '--pre-send without --file')
  t.match(preSend.stderr, /--pre-send applies to --file bodies/)
})

t.test('--help', async t => {
  const run = await cli(['--help'])
  t.equal(run.code, 0)
  t.match(run.stdout, /usage: easemob-callback-send/)
})

t.test('sends every post-send sample to a running service, which takes them all', async t => {
  const { port, rec } = await serve(t)
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

t.test('a kind sends every sample of that kind, each once', async t => {
  const { url, rec } = await serve(t)
  const expected = namesOfKind('group_op')
  t.ok(expected.length > 10, `the group samples (${expected.length})`)
  const run = await cli(['group_op', 'post_group_info', '--url', url, '--secret', 'live-secret'])
  t.equal(run.code, 0, run.stderr)
  const lines = run.stdout.trim().split('\n')
  t.same(lines.map(line => line.split(' ')[0]), expected, 'every group_op sample, post_group_info not twice')
  for (const line of lines) t.match(line, / 200 \{"status":"ok"\}$/)
  t.same(rec.calls.map(call => call.event.kind), expected.map(() => 'group_op'), 'each dispatched as group_op')
})

t.test('--file sends a body of one\'s own, re-stamped and signed; stdin with -', async t => {
  const { url, rec } = await serve(t)
  const own = { ...sample('post_chat_txt'), callId: 'my-own-call', timestamp: 1_600_000_000_000, security: 'not-a-signature' }
  Object.assign(own, { payload: { bodies: [{ type: 'txt', msg: 'from my file' }] } })
  const dir = t.testdir({ 'own.json': JSON.stringify(own) })
  const stdin = JSON.stringify({ ...own, callId: 'from-stdin', payload: { bodies: [{ type: 'txt', msg: 'from stdin' }] } })
  const run = await cli(['--file', join(dir, 'own.json'), '--file', '-', '--url', url, '--secret', 'live-secret'], {}, stdin)
  t.equal(run.code, 0, run.stderr)
  const lines = run.stdout.trim().split('\n')
  t.equal(lines.length, 2, 'only the files: no samples without a NAME')
  t.match(lines[0], new RegExp(`^${join(dir, 'own.json')} +200 \\{"status":"ok"\\}$`))
  t.match(lines[1], /^stdin +200 /)
  const events = rec.calls.map(call => call.event as unknown as { callId: string, payload: { bodies: Array<{ msg: string }> } })
  t.same(events.map(event => event.payload.bodies[0].msg), ['from my file', 'from stdin'])
  t.match(events[0].callId, /^my-own-call-[0-9a-f]{8}$/, 'a fresh callId suffix')

  const kept = await cli(['--file', join(dir, 'own.json'), '--file', join(dir, 'own.json'), '--keep-callid', '--url', url, '--secret', 'live-secret', '--json'])
  t.equal(kept.code, 0, kept.stderr)
  t.same(jsonLines(kept).map(line => line.body), [{ status: 'ok' }, { status: 'duplicate' }], '--keep-callid keeps the callId: the second is a duplicate')
  t.equal((rec.calls.at(-1)?.event as { callId?: string }).callId, 'my-own-call')
})

t.test('--file refuses what is not a callback body, and sends nothing', async t => {
  const { url, rec } = await serve(t)
  const dir = t.testdir({ 'good.json': JSON.stringify(sample('post_chat_txt')), 'nocallid.json': '{"timestamp":1}', 'list.json': '[{"callId":"x"}]', 'broken.json': '{"callId":' })
  const cases = [['nocallid.json', /not a callback body: expected a JSON object with a "callId"/], ['list.json', /not a callback body/], ['broken.json', /not JSON/], ['absent.json', /cannot read it/]] as const
  const runs = await Promise.all(cases.map(([file]) => cli(['--file', join(dir, 'good.json'), '--file', join(dir, file), '--url', url])))
  cases.forEach(([file, problem], i) => {
    t.equal(runs[i].code, 2, file)
    t.match(runs[i].stderr, new RegExp(`--file ${join(dir, file)}: ${problem.source}`), file)
    t.equal(runs[i].stdout, '')
  })
  t.equal(rec.calls.length, 0, 'not even the good file went')
})

t.test('pre-send samples go to <url>pre-send, with the decision', async t => {
  const { url, rec } = await serve(t, { PRE_SEND_RULES: 'examples/pre-send-rules.yaml' })
  const run = await cli(['pre-send', '--url', url, '--secret', 'live-secret'])
  t.match(run.stdout, /^pre_send_group_img +200 (pass|modify|block)/m)
  t.equal(run.code, 0, run.stderr)
  const lines = run.stdout.trim().split('\n')
  t.same(lines.map(line => line.split(' ')[0]), sampleNames().filter(name => name.startsWith('pre_send')).sort())
  for (const line of lines) t.match(line, / 200 (pass|modify|block)/, line)
  t.match(run.stdout, /^pre_send_txt +200 pass \{"valid":true\}$/m)
  t.equal(rec.calls.length, 0, 'none reached the post-send handlers')

  const dir = t.testdir({ 'scam.json': JSON.stringify({ ...sample('pre_send_txt'), payload: { type: 'txt', msg: 'free bitcoin' } }) })
  const file = await cli(['--pre-send', '--file', join(dir, 'scam.json'), '--url', url, '--secret', 'live-secret', '--json'])
  t.equal(file.code, 0, file.stderr)
  t.same(jsonLines(file), [{ name: join(dir, 'scam.json'), kind: 'pre-send', url: `${url}pre-send`, status: 200, body: { valid: false, code: 'HX:10001' } }])
})

t.test('the default URL follows PORT; EASEMOB_CALLBACK_URL and --url come first', async t => {
  const { port, url, rec } = await serve(t)
  const dead = String(await freePort())
  const [byPort, byVariable, byOption] = await Promise.all([
    cli(['post_chat_txt', '--json'], { PORT: String(port), EASEMOB_SECRETS: 'live-secret' }),
    cli(['post_chat_txt'], { PORT: dead, EASEMOB_CALLBACK_URL: url, EASEMOB_SECRETS: 'live-secret' }),
    cli(['post_chat_txt', '--url', url], { PORT: dead, EASEMOB_CALLBACK_URL: `http://127.0.0.1:${dead}/`, EASEMOB_SECRETS: 'live-secret' })
  ])
  t.equal(byPort.code, 0, byPort.stderr)
  t.equal(jsonLines(byPort)[0].url, `http://127.0.0.1:${port}/`)
  t.equal(byVariable.code, 0, byVariable.stderr)
  t.equal(byOption.code, 0, byOption.stderr)
  t.equal(rec.calls.length, 3)
})

t.test('an unreachable receiver: the URL and the cause, exit 3, and the run stops', async t => {
  const url = `http://127.0.0.1:${await freePort()}/`
  const [run, json] = await Promise.all([cli(['txt', '--url', url]), cli(['txt', '--url', url, '--json'])])
  t.equal(run.code, 3)
  t.match(run.stderr, `cannot reach ${url}: `)
  t.match(run.stderr, /ECONNREFUSED/)
  t.equal(run.stderr.trim().split('\n').length, 1, 'one message: stopped after the first')
  t.equal(run.stdout, '')
  t.equal(json.code, 3)
  t.same(jsonLines(json).map(line => Object.keys(line)), [['name', 'url', 'error']], 'one error line')
  t.match(jsonLines(json)[0], { name: 'post_chat_txt', url, error: /^cannot reach .*ECONNREFUSED/ })
})

t.test('a receiver that does not answer within --timeout: exit 3', async t => {
  const silent = createHttpServer(() => {})
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.closeAllConnections(); silent.close() })
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`
  const run = await cli(['post_chat_txt', '--url', url, '--timeout', '300'])
  t.equal(run.code, 3)
  t.match(run.stderr, `no answer from ${url} within 300 ms`)
})

t.test('--json: one object per request and nothing else', async t => {
  const { url } = await serve(t)
  const [run, wrong, list, print] = await Promise.all([
    cli(['post_chat_txt', 'post_user_login', '--url', url, '--json'], { EASEMOB_SECRETS: 'live-secret' }),
    cli(['post_chat_txt', '--url', url, '--json', '--secret', 'not-the-secret']),
    cli(['--list', '--json']),
    cli(['--print', 'pre_send_txt', '--json', '--url', url])
  ])
  t.equal(run.code, 0, run.stderr)
  t.same(jsonLines(run), [
    { name: 'post_chat_txt', kind: 'txt', url, status: 200, body: { status: 'ok' } },
    { name: 'post_user_login', kind: 'user_status', url, status: 200, body: { status: 'ok' } }
  ])
  t.equal(wrong.code, 1)
  t.match(jsonLines(wrong), [{ name: 'post_chat_txt', status: 401, body: {} }], 'a refusal is a line too, its body parsed')
  t.match(jsonLines(list).find(row => row.name === 'pre_send_txt'), { kind: 'pre-send', route: 'pre-send' })
  t.match(jsonLines(print), [{ name: 'pre_send_txt', kind: 'pre-send', url: `${url}pre-send`, body: { callId: /^acme-corp/ } }])
})
