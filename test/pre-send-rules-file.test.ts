import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadRulesPolicy, RulesFileError, type ReloadEvent, type RulesPolicy } from '../src/pre-send/rules/policy.js'
import { bodiesOf, bodyKind } from '../src/pre-send/message.js'
import type { PreSendMessage } from '../src/schemas/pre-send.js'

// The rules file: formats, error messages, reload keeping the last good rules, SIGHUP and file watch.

function text (msg: string, chatType = 'chat'): PreSendMessage {
  const message = {
    callId: 'acme#app_1', timestamp: 1, chat_type: chatType, from: 'alice', to: 'bob', msg_id: '1', payload: { type: 'txt', msg }
  } as unknown as PreSendMessage
  message.kind = bodyKind(bodiesOf(message)[0])
  return message
}

const YAML_RULES = `
# comment
maskChar: "#"
rules:
  - name: no-evil
    action: block
    code: "HX:10001"
    words: [evil]
  - name: mask-bad
    action: mask
    words: ["bad", "坏词"]
    patterns: ["1[3-9]\\\\d{9}"]
`

const blockRule = (name: string, word: string): string => JSON.stringify({ rules: [{ name, action: 'block', words: [word] }] })

/** The message of the error `promise` rejects with (and that it is a RulesFileError). */
async function failure (t: Test, promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    t.type(error, RulesFileError)
    return (error as Error).message
  }
  t.fail('expected the load to fail')
  return ''
}

/** Resolves with the next onReload event; fails the test instead of hanging if none comes. */
function nextReload (policy: RulesPolicy, t: Test, options: { signal?: NodeJS.Signals | false, file?: boolean }): { event: Promise<ReloadEvent>, stop: () => void } {
  let stop = (): void => {}
  const event = new Promise<ReloadEvent>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('no reload event within 10 s')), 10_000)
    stop = policy.watch({
      ...options,
      onReload: result => {
        clearTimeout(guard)
        resolve(result)
      }
    })
  })
  t.teardown(() => stop())
  return { event, stop: () => stop() }
}

t.test('YAML, .yml and JSON files load', async t => {
  const dir = t.testdir({
    'rules.yaml': YAML_RULES,
    'rules.yml': YAML_RULES,
    'rules.json': JSON.stringify({ rules: [{ name: 'mask-bad', action: 'mask', words: ['bad'] }] }),
    'emoji.yaml': 'maskChar: "😶"\nrules: [{ name: m, action: mask, words: [bad] }]'
  })
  for (const name of ['rules.yaml', 'rules.yml']) {
    const policy = await loadRulesPolicy(join(dir, name))
    t.equal(policy.ruleCount, 2, name)
    t.equal(policy.version, 1)
    t.equal(policy.file, join(dir, name))
    t.same(policy.decide(text('EVIL')), { valid: false, code: 'HX:10001', rule: 'no-evil' })
    t.same(policy.decide(text('坏词 13812345678')), { valid: true, payload: { type: 'txt', msg: '## ###########' }, rule: 'mask-bad' })
  }
  const json = await loadRulesPolicy(join(dir, 'rules.json'))
  t.same(json.decide(text('bad')), { valid: true, payload: { type: 'txt', msg: '***' }, rule: 'mask-bad' })
  const decide = json.decide
  t.same(decide(text('fine')), { valid: true }, 'decide is bound: usable as preSend directly')

  const emoji = await loadRulesPolicy(join(dir, 'emoji.yaml'))
  t.same(emoji.decide(text('bad')), { valid: true, payload: { type: 'txt', msg: '😶😶😶' }, rule: 'm' }, 'an emoji is one character')
})

t.test('the example rules file loads and works', async t => {
  const policy = await loadRulesPolicy('examples/pre-send-rules.yaml')
  t.ok(policy.ruleCount > 0)
  t.equal(policy.decide(text('加微信领红包')).valid, false)
  t.same(policy.decide(text('call 13812345678')), { valid: true, payload: { type: 'txt', msg: 'call ***********' }, rule: 'no-phone-numbers' })
  t.same(policy.decide(text('hello')), { valid: true })
})

t.test('errors name the file and every problem', async t => {
  const dir = t.testdir({
    'bad-yaml.yaml': 'rules:\n  - name: a\n    words: [x\n  - oops: :\n',
    'bad-json.json': '{\n  "rules": [\n    {"name": "a",}\n  ]\n}\n',
    'schema.yaml': [
      'maskChar: "**"',
      'colour: red',
      'rules:',
      '  - { name: ok, action: block, words: [x] }',
      '  - { name: missing-action, words: [x] }',
      '  - { name: typo, action: blok, words: [x] }',
      '  - { name: types, action: mask, words: [x], chatTypes: [chat, private], messageTypes: [text] }',
      '  - { name: numbers, action: block, words: [1234] }'
    ].join('\n'),
    'semantic.yaml': [
      'rules:',
      '  - { name: dup, action: block, words: [x] }',
      '  - { name: dup, action: mask, words: [y] }',
      '  - { name: regex, action: block, patterns: ["(unclosed", "ok", "x*"] }',
      '  - { name: empty, action: mask, words: ["fine", "", "\\u200B"] }',
      '  - { name: nothing, action: block }',
      '  - { name: coded-mask, action: mask, code: X, words: [y] }',
      '  - { name: leveled-block, action: block, chatroomLevel: low, words: [y] }',
      '  - { name: mask-cmd, action: mask, messageTypes: [txt, cmd], words: [y] }',
      '  - { name: ext-path, action: mask, words: [y], ext: ["a..b"] }'
    ].join('\n'),
    'empty.yaml': '',
    'rules.txt': 'rules: []'
  })

  const yaml = await failure(t, loadRulesPolicy(join(dir, 'bad-yaml.yaml')))
  t.match(yaml, `invalid pre-send rules file ${join(dir, 'bad-yaml.yaml')}`)
  t.match(yaml, /invalid YAML: .* at line \d+, column \d+/)

  const json = await failure(t, loadRulesPolicy(join(dir, 'bad-json.json')))
  t.match(json, /invalid JSON at line 3, column \d+: /)

  const schema = await failure(t, loadRulesPolicy(join(dir, 'schema.yaml')))
  t.match(schema, 'maskChar: must be exactly one character')
  t.match(schema, 'colour: is not a known setting')
  t.match(schema, 'rules[1].action: is required')
  t.match(schema, 'rules[2].action: must be one of block, mask, pass, got "blok"')
  t.match(schema, 'rules[3].chatTypes[1]: must be one of chat, group, groupchat, chatroom, got "private"')
  t.match(schema, 'rules[3].messageTypes[0]: must be one of txt, img, audio, video, file, loc, cmd, custom, combine, got "text"')
  t.match(schema, 'rules[4].words[0]: expected string, got 1234')
  t.notMatch(schema, 'rules[0]', 'the valid rule is not mentioned')

  const semantic = await failure(t, loadRulesPolicy(join(dir, 'semantic.yaml')))
  for (const expected of [
    'rules[1].name: duplicate rule name "dup" (first at rules[0])',
    'rules[2].patterns[0] (rule "regex"): invalid regular expression "(unclosed"',
    'rules[2].patterns[2] (rule "regex"): "x*" matches the empty string',
    'rules[3].words[1] (rule "empty"): empty word',
    'rules[3].words[2] (rule "empty"): word "\u200B" is empty once normalised',
    'rules[4].words (rule "nothing"): the rule has neither words nor patterns',
    'rules[5].code (rule "coded-mask"): only block rules have a code',
    'rules[6].chatroomLevel (rule "leveled-block")',
    'rules[7].messageTypes (rule "mask-cmd"): command messages cannot be modified',
    'rules[8].ext[0] (rule "ext-path")'
  ]) t.match(semantic, expected)
  t.notMatch(semantic, 'patterns[1]', 'the valid pattern is not mentioned')
  t.equal(semantic.split('\n').length, 11, 'one line per problem after the heading')

  t.match(await failure(t, loadRulesPolicy(join(dir, 'empty.yaml'))), 'the file is empty')
  t.match(await failure(t, loadRulesPolicy(join(dir, 'rules.txt'))), 'unsupported extension ".txt"')
  t.match(await failure(t, loadRulesPolicy(join(dir, 'missing.yaml'))), /missing\.yaml:\n {2}- cannot read it: ENOENT/)
})

t.test('reload keeps the last good rules on a broken file and picks up the fixed one', async t => {
  const dir = t.testdir({ 'rules.json': blockRule('v1', 'one') })
  const file = join(dir, 'rules.json')
  const policy = await loadRulesPolicy(file)
  t.equal(policy.decide(text('one')).rule, 'v1')

  await writeFile(file, '{"rules": [')
  const broken = await policy.reload()
  t.equal(broken.ok, false)
  t.match(broken, { error: /invalid pre-send rules file .*rules\.json:\n {2}- invalid JSON/ })
  t.equal(policy.version, 1, 'version unchanged')
  t.equal(policy.decide(text('one')).rule, 'v1', 'the old rules still decide')

  await writeFile(file, JSON.stringify({ rules: [{ name: 'v2', action: 'block', words: ['two'] }, { name: 'v2b', action: 'mask', words: ['x'] }] }))
  t.same(await policy.reload(), { ok: true, rules: 2 })
  t.equal(policy.version, 2)
  t.equal(policy.ruleCount, 2)
  t.same(policy.decide(text('one')), { valid: true }, 'old rules gone')
  t.equal(policy.decide(text('two')).rule, 'v2')

  await writeFile(file, blockRule('v3', 'three'))
  const [first, second] = await Promise.all([policy.reload(), policy.reload()])
  t.same([first, second], [{ ok: true, rules: 1 }, { ok: true, rules: 1 }], 'concurrent reloads run one after the other')
  t.equal(policy.version, 4)
})

t.test('SIGHUP reloads the file', async t => {
  const dir = t.testdir({ 'rules.yaml': 'rules: [{ name: before, action: block, words: [old] }]' })
  const file = join(dir, 'rules.yaml')
  const policy = await loadRulesPolicy(file)
  const listeners = process.listenerCount('SIGHUP')
  const { event, stop } = nextReload(policy, t, { signal: 'SIGHUP', file: false })
  t.equal(process.listenerCount('SIGHUP'), listeners + 1, 'listening')

  await writeFile(file, 'rules: [{ name: after, action: block, words: [new] }]')
  process.kill(process.pid, 'SIGHUP')
  t.same(await event, { ok: true, rules: 1, trigger: 'signal' })
  t.equal(policy.version, 2)
  t.equal(policy.decide(text('new')).rule, 'after')

  stop()
  t.equal(process.listenerCount('SIGHUP'), listeners, 'the stop function removes the listener')
  stop()
  t.equal(process.listenerCount('SIGHUP'), listeners, 'stopping twice is harmless')
})

t.test('SIGHUP with a broken file reports the error and keeps the rules', async t => {
  const dir = t.testdir({ 'rules.yaml': 'rules: [{ name: good, action: block, words: [x] }]' })
  const file = join(dir, 'rules.yaml')
  const policy = await loadRulesPolicy(file)
  const { event } = nextReload(policy, t, { file: false })
  await writeFile(file, 'rules: [{ name: good, action: explode, words: [x] }]')
  process.kill(process.pid, 'SIGHUP')
  const result = await event
  t.equal(result.ok, false)
  t.equal(result.trigger, 'signal')
  t.match(result, { error: 'rules[0].action: must be one of block, mask, pass, got "explode"' })
  t.equal(policy.decide(text('x')).rule, 'good')
})

t.test('a changed file is reloaded by the watcher', async t => {
  const dir = t.testdir({ 'rules.yaml': 'rules: [{ name: before, action: block, words: [old] }]', 'other.txt': 'x' })
  const file = join(dir, 'rules.yaml')
  const policy = await loadRulesPolicy(file)

  const written = nextReload(policy, t, { signal: false })
  await writeFile(file, 'rules: [{ name: written, action: block, words: [new] }]')
  t.same(await written.event, { ok: true, rules: 1, trigger: 'file' })
  t.equal(policy.decide(text('new')).rule, 'written')
  written.stop()

  const broken = nextReload(policy, t, { signal: false })
  await writeFile(file, 'rules: [{ name: broken')
  const error = await broken.event
  t.equal(error.ok, false, 'a broken edit is reported')
  t.equal(policy.decide(text('new')).rule, 'written', 'and the rules stay')
  broken.stop()

  // Editors and Kubernetes replace the file by renaming another one over it.
  const renamed = nextReload(policy, t, { signal: false })
  await writeFile(join(dir, '.rules.yaml.tmp'), 'rules: [{ name: renamed, action: mask, words: [new] }]')
  await rename(join(dir, '.rules.yaml.tmp'), file)
  t.same(await renamed.event, { ok: true, rules: 1, trigger: 'file' })
  t.same(policy.decide(text('new')), { valid: true, payload: { type: 'txt', msg: '***' }, rule: 'renamed' })
  t.equal(policy.version, 3, 'one version per successful reload')
})
