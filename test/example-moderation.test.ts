// examples/moderation: one preSend composed of a custom async check (a sender blocklist) and the
// example's rules file, asked as Easemob asks (signed pre-send requests at POST /pre-send): pass,
// block by the check, block by a rule, and rewrite, each logged with what decided.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { BLOCKED_SENDER_CODE, build, RULES_FILE, SenderBlocklist } from '../examples/moderation/app.js'
import { logCapture, NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'

/** The pre_send_txt sample with another sender, text or payload, under a callId of its own. */
function preSend (callId: string, fields: { from?: string, text?: string, payload?: unknown }): string {
  const request = sample('pre_send_txt')
  const payload = fields.payload ?? (fields.text === undefined ? request.payload : { type: 'txt', msg: fields.text })
  return signed({ ...request, from: fields.from ?? request.from, payload }, { callId })
}

async function moderation (options: { blocklist?: SenderBlocklist, rulesFile?: string, watchRules?: boolean } = {}) {
  const logs = logCapture()
  const app = await build({ secrets: SECRET, now: () => NOW, logger: { level: 'info', stream: logs.stream }, ...options })
  await app.ready()
  /** The decision logged for a callId: outcome, the rule that made it, and why a fallback was sent. */
  const decided = (callId: string): { outcome?: string, rule?: unknown, reason?: string } | undefined => {
    const line = logs.lines.find(line => line.callId === callId && line.msg?.startsWith('easemob callback') === true)
    return line === undefined ? undefined : { outcome: line.outcome, rule: line.rule, reason: line.reason }
  }
  return { app, decided }
}

t.test('pass, block and rewrite through one composed preSend', async t => {
  const { app, decided } = await moderation()
  t.teardown(() => app.close())

  const pass = await post(app, signed(sample('pre_send_txt')), '/pre-send')
  t.equal(pass.statusCode, 200)
  t.equal(pass.body, '{"valid":true}', 'pass: "is the build green?" matches nothing')
  t.same(decided(sample('pre_send_txt').callId), { outcome: 'pass', rule: undefined, reason: undefined })

  const ruleBlock = await post(app, preSend('rule-block', { text: 'FREE Bitcoin for everyone' }), '/pre-send')
  t.same(ruleBlock.json(), { valid: false, code: 'HX:10001' }, 'block: the block rule, with its code (matching is case-insensitive)')
  t.match(decided('rule-block'), { outcome: 'block', rule: 'no-scam-links' })

  const rewrite = await post(app, preSend('rewrite', { text: 'call me on 13812345678 after 5' }), '/pre-send')
  t.same(rewrite.json(), { valid: true, payload: { type: 'txt', msg: 'call me on *********** after 5' } }, 'rewrite: the mask rule, in the flat payload form')
  t.match(decided('rewrite'), { outcome: 'rewrite', rule: 'no-phone-numbers' })

  const bodies = { ext: { nickname: 'Alice' }, bodies: [{ type: 'txt', msg: 'my number: 13912345678' }] }
  const rewriteBodies = await post(app, preSend('rewrite-bodies', { payload: bodies }), '/pre-send')
  t.same(rewriteBodies.json(), { valid: true, payload: { ext: { nickname: 'Alice' }, bodies: [{ type: 'txt', msg: 'my number: ***********' }] } },
    'rewrite: in the {ext, bodies} form when the request has it')

  const blocked = await post(app, preSend('sender-block', { from: 'Mallory' }), '/pre-send')
  t.same(blocked.json(), { valid: false, code: BLOCKED_SENDER_CODE }, 'block: the custom check, whatever the text (user IDs are case-insensitive)')
  t.match(decided('sender-block'), { outcome: 'block', rule: 'blocklist (reported for spam)' })

  const blockedFirst = await post(app, preSend('sender-block-first', { from: 'mallory', text: 'call me on 13812345678' }), '/pre-send')
  t.same(blockedFirst.json(), { valid: false, code: BLOCKED_SENDER_CODE }, 'the custom check comes before the rules')

  const replay = await post(app, preSend('rewrite', { text: 'something else entirely' }), '/pre-send')
  t.equal(replay.body, rewrite.body, 'a replayed callId gets its first decision again')
})

t.test('a blocklist of your own, changed while the app runs', async t => {
  const blocklist = new SenderBlocklist()
  const { app } = await moderation({ blocklist })
  t.teardown(() => app.close())
  t.equal((await post(app, preSend('before', { from: 'alice' }), '/pre-send')).body, '{"valid":true}')
  blocklist.block('alice', 'muted by a moderator')
  t.same((await post(app, preSend('muted', { from: 'alice' }), '/pre-send')).json(), { valid: false, code: BLOCKED_SENDER_CODE })
  blocklist.unblock('alice')
  t.equal((await post(app, preSend('unmuted', { from: 'alice' }), '/pre-send')).body, '{"valid":true}')
})

t.test('a check slower than the budget gets the fallback, pass', async t => {
  class SlowBlocklist extends SenderBlocklist {
    override async reasonFor (user: string): Promise<string | undefined> {
      await sleep(300)
      return super.reasonFor(user)
    }
  }
  const { app, decided } = await moderation({ blocklist: new SlowBlocklist([['mallory', 'spam']]) })
  t.teardown(() => app.close())
  t.equal((await post(app, preSend('slow', { from: 'mallory' }), '/pre-send')).body, '{"valid":true}')
  t.same(decided('slow'), { outcome: 'fallback', rule: undefined, reason: 'no decision within 100 ms' })
})

t.test('saving the rules file reloads it with watchRules', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'moderation-rules-'))
  const file = join(dir, 'rules.yaml')
  await writeFile(file, await readFile(RULES_FILE, 'utf8'))
  const { app } = await moderation({ rulesFile: file, watchRules: true })
  t.teardown(async () => {
    await app.close()
    await rm(dir, { recursive: true, force: true })
  })
  t.equal((await post(app, preSend('before-reload', { text: 'buy cheap followers' }), '/pre-send')).body, '{"valid":true}')
  await writeFile(file, `${await readFile(RULES_FILE, 'utf8')}
  - name: no-follower-sales
    action: block
    code: "HX:10003"
    words: ["cheap followers"]
`)
  let reply = ''
  for (let attempt = 0; attempt < 50 && reply !== '{"valid":false,"code":"HX:10003"}'; attempt++) {
    await sleep(100)
    reply = (await post(app, preSend(`after-reload-${attempt}`, { text: 'buy cheap followers' }), '/pre-send')).body
  }
  t.equal(reply, '{"valid":false,"code":"HX:10003"}', 'the new rule decides once the file is saved')
})
