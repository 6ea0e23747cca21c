import t from 'tap'
import { compileRules } from '../src/pre-send/rules/compile.js'
import type { RulesFile } from '../src/pre-send/rules/schema.js'
import { bodiesOf, bodyKind } from '../src/pre-send/message.js'
import { loadSamples } from '../src/samples.js'
import type { PreSendDecision, PreSendMessage } from '../src/schemas/pre-send.js'

// Decisions of a compiled rules file, for every message type in both payload forms.

type Json = Record<string, unknown>

function sample (name: string): Json {
  const found = loadSamples().get(name)
  if (found === undefined) throw new Error(`no sample ${name}`)
  return structuredClone(found)
}

/** A pre-send message as the route hands it over: a sample request with `payload`, `kind` set from the first body. */
function message (payload: unknown, chatType = 'chat'): PreSendMessage {
  const built = { ...sample('pre_send_txt'), chat_type: chatType, payload } as unknown as PreSendMessage
  built.kind = bodyKind(bodiesOf(built)[0])
  return built
}

/** Wrapped in the older `{ext, bodies}` form. */
function wrapped (body: Json, ext: Json = { em_ignore_notification: true }): Json {
  return { ext, bodies: [body] }
}

const rules = (file: Partial<RulesFile> & Pick<RulesFile, 'rules'>) => compileRules(file)

const BASE: RulesFile = {
  rules: [
    { name: 'no-evil', action: 'block', code: 'HX:10001', words: ['evil'] },
    { name: 'mask-bad', action: 'mask', words: ['bad', '坏词'] }
  ]
}

/** One body per kind with 'bad' in every text field it exposes, and what masking makes of it. */
const CASES: Record<string, { body: Json, masked: Json }> = {
  txt: {
    body: { type: 'txt', msg: 'so BAD, 真坏词' },
    masked: { type: 'txt', msg: 'so ***, 真**' }
  },
  img: {
    body: { ...(sample('pre_send_group_img').payload as Json), filename: 'bad.png' },
    masked: { ...(sample('pre_send_group_img').payload as Json), filename: '***.png' }
  },
  audio: {
    body: { type: 'audio', url: 'https://a1.easemob.com/o/a/chatfiles/1', filename: 'bad.amr', length: 3 },
    masked: { type: 'audio', url: 'https://a1.easemob.com/o/a/chatfiles/1', filename: '***.amr', length: 3 }
  },
  video: {
    body: { type: 'video', url: 'https://a1.easemob.com/o/a/chatfiles/2', filename: 'so-bad.mp4', thumb: 'bad' },
    masked: { type: 'video', url: 'https://a1.easemob.com/o/a/chatfiles/2', filename: 'so-***.mp4', thumb: 'bad' }
  },
  file: {
    body: { type: 'file', url: 'https://a1.easemob.com/o/a/chatfiles/4', filename: 'Bad plan.pdf', secret: 'bad' },
    masked: { type: 'file', url: 'https://a1.easemob.com/o/a/chatfiles/4', filename: '*** plan.pdf', secret: 'bad' }
  },
  loc: {
    body: { type: 'loc', lat: 39.9, lng: 116.4, addr: '坏词路 1号' },
    masked: { type: 'loc', lat: 39.9, lng: 116.4, addr: '**路 1号' }
  },
  custom: {
    body: { ...(sample('pre_send_chatroom_custom').payload as Json), customEvent: 'bad_gift', 'v2:customExts': { gift: 'bad rocket', count: 1 }, customExts: [{ gift: 'rocket' }, { note: 'bad' }, 'bad'] },
    masked: { ...(sample('pre_send_chatroom_custom').payload as Json), customEvent: '***_gift', 'v2:customExts': { gift: '*** rocket', count: 1 }, customExts: [{ gift: 'rocket' }, { note: '***' }, 'bad'] }
  },
  combine: {
    body: { ...(sample('pre_send_combine').payload as Json), title: 'bad chat', summary: 'bob: bad\ncarol: ok\n', msg: 'bad' },
    masked: { ...(sample('pre_send_combine').payload as Json), title: '*** chat', summary: 'bob: ***\ncarol: ok\n', msg: '***' }
  }
}

t.test('the samples themselves pass untouched, with no payload', async t => {
  const policy = rules(BASE)
  for (const name of ['pre_send_txt', 'pre_send_group_img', 'pre_send_chatroom_custom', 'pre_send_combine']) {
    const request = sample(name)
    const decision = policy.decide(message(request.payload, request.chat_type as string))
    t.same(decision, { valid: true }, name)
    t.notOk('payload' in decision, `${name}: no payload key`)
  }
})

t.test('every message type, flat payload: masked in place, form kept', async t => {
  const policy = rules(BASE)
  for (const [kind, { body, masked }] of Object.entries(CASES)) {
    const input = message(structuredClone(body))
    t.equal(input.kind, kind, `${kind}: kind as the route sets it`)
    const decision = policy.decide(input)
    t.same(decision, { valid: true, payload: masked, rule: 'mask-bad' }, `${kind} masked`)
    t.same(input.payload, body, `${kind}: the request is not modified`)
  }
})

t.test('every message type, {ext, bodies} payload: masked in place, ext and form kept', async t => {
  const policy = rules(BASE)
  for (const [kind, { body, masked }] of Object.entries(CASES)) {
    const decision = policy.decide(message(wrapped(structuredClone(body))))
    t.same(decision, { valid: true, payload: wrapped(masked), rule: 'mask-bad' }, `${kind} masked`)
  }
})

t.test('every message type is blocked by a block word, in both forms', async t => {
  const policy = rules(BASE)
  const evil = (value: unknown): unknown => typeof value === 'string' ? value.replace(/bad|坏词/gi, 'evil') : value
  const bodies: Json = {
    ...Object.fromEntries(Object.entries(CASES).map(([kind, { body }]) => [kind, JSON.parse(JSON.stringify(body), (_key, value) => evil(value)) as Json])),
    cmd: { type: 'cmd', action: 'evil_action' }
  }
  for (const [kind, body] of Object.entries(bodies)) {
    const blocked = { valid: false, code: 'HX:10001', rule: 'no-evil' }
    t.same(policy.decide(message(body)), blocked, `flat ${kind}`)
    t.same(policy.decide(message(wrapped(body as Json))), blocked, `bodies ${kind}`)
  }
  t.same(policy.decide(message({ type: 'cmd', msg: 'evil' })), { valid: false, code: 'HX:10001', rule: 'no-evil' }, 'cmd in its post-send spelling (msg)')
})

t.test('cmd messages are never masked (they cannot be modified): a mask word passes', async t => {
  const policy = rules(BASE)
  t.same(policy.decide(message({ type: 'cmd', action: 'bad' })), { valid: true })
  t.same(policy.decide(message(wrapped({ type: 'cmd', action: 'bad' }))), { valid: true })
})

t.test('bodies of an unknown type carry no text', async t => {
  const policy = rules(BASE)
  const input = message({ type: 'sticker', msg: 'evil' })
  t.equal(input.kind, 'unknown')
  t.same(policy.decide(input), { valid: true })
})

t.test('block beats mask; the first block rule in file order wins', async t => {
  const policy = rules({
    defaultCode: 'blocked!',
    rules: [
      { name: 'mask-bad', action: 'mask', words: ['bad'] },
      { name: 'block-late-word', action: 'block', words: ['zzz'] },
      { name: 'block-early-word', action: 'block', code: 'E2', words: ['aaa'] }
    ]
  })
  t.same(policy.decide(message({ type: 'txt', msg: 'bad zzz' })), { valid: false, code: 'blocked!', rule: 'block-late-word' }, 'block over mask, default code')
  t.same(policy.decide(message({ type: 'txt', msg: 'aaa then zzz' })), { valid: false, code: 'blocked!', rule: 'block-late-word' },
    'file order, not text order')
  t.same(policy.decide(message({ type: 'txt', msg: 'aaa' })), { valid: false, code: 'E2', rule: 'block-early-word' })
  t.same(policy.decide(message({ type: 'txt', msg: 'nothing' })), { valid: true })
  const defaults = rules({ rules: [{ name: 'b', action: 'block', words: ['x'] }] })
  t.same(defaults.decide(message({ type: 'txt', msg: 'x' })), { valid: false, code: 'message blocked', rule: 'b' }, 'built-in default code')
})

t.test('several mask rules: all masks applied, names joined in file order', async t => {
  const policy = rules({
    maskChar: '#',
    rules: [
      { name: 'first', action: 'mask', words: ['foo'] },
      { name: 'phones', action: 'mask', patterns: ['1[3-9]\\d{9}'] },
      { name: 'unused', action: 'mask', words: ['nothing-here'] }
    ]
  })
  const decision = policy.decide(message({ type: 'txt', msg: 'call １３８１２３４５６７８ FOO' }))
  t.same(decision, { valid: true, payload: { type: 'txt', msg: 'call ########### ###' }, rule: 'first,phones' },
    'full-width digits matched by the pattern, the original characters masked')
})

t.test('patterns run on normalised text; a block pattern blocks', async t => {
  const policy = rules({
    rules: [
      { name: 'no-links', action: 'block', patterns: ['https?://\\S+'] },
      { name: 'mask-ids', action: 'mask', patterns: ['id-\\d+'] }
    ]
  })
  t.same(policy.decide(message({ type: 'txt', msg: 'see ＨＴＴＰ://x.y' })), { valid: false, code: 'message blocked', rule: 'no-links' })
  t.same(policy.decide(message({ type: 'txt', msg: '😀ID-42, id-7😀' })), { valid: true, payload: { type: 'txt', msg: '😀*****, ****😀' }, rule: 'mask-ids' })
  t.same(policy.decide(message({ type: 'txt', msg: 'nothing' })), { valid: true })
})

t.test('scope by chat type: every spelling', async t => {
  const policy = rules({
    rules: [
      { name: 'groups', action: 'block', words: ['g'], chatTypes: ['group'] },
      { name: 'groupchat-alias', action: 'block', words: ['h'], chatTypes: ['groupchat'] },
      { name: 'rooms', action: 'block', words: ['r'], chatTypes: ['chatroom'] },
      { name: 'singles', action: 'block', words: ['s'], chatTypes: ['chat'] },
      { name: 'groups-and-rooms', action: 'block', words: ['x'], chatTypes: ['group', 'chatroom'] }
    ]
  })
  const decide = (msg: string, chatType: string): string | undefined => policy.decide(message({ type: 'txt', msg }, chatType)).rule
  for (const spelling of ['group', 'groupchat']) {
    t.equal(decide('g', spelling), 'groups', `${spelling} is a group`)
    t.equal(decide('h', spelling), 'groupchat-alias', `groupchat in the file means group (${spelling})`)
    t.equal(decide('r', spelling), undefined, `${spelling}: room rule out of scope`)
    t.equal(decide('s', spelling), undefined, `${spelling}: single-chat rule out of scope`)
    t.equal(decide('x', spelling), 'groups-and-rooms')
  }
  t.equal(decide('r', 'chatroom'), 'rooms')
  t.equal(decide('g', 'chatroom'), undefined)
  t.equal(decide('x', 'chatroom'), 'groups-and-rooms')
  t.equal(decide('s', 'chat'), 'singles')
  t.equal(decide('g', 'chat'), undefined)
  t.equal(decide('x', 'chat'), undefined)
  t.equal(decide('s', 'something-new'), 'singles', 'an unknown chat_type counts as a single chat, as chatTypeOf() says')
})

t.test('scope by message type, per body', async t => {
  const policy = rules({
    rules: [
      { name: 'txt-only', action: 'mask', words: ['bad'], messageTypes: ['txt'] },
      { name: 'files', action: 'block', words: ['exe'], messageTypes: ['file'] }
    ]
  })
  t.same(policy.decide(message({ type: 'txt', msg: 'bad' })), { valid: true, payload: { type: 'txt', msg: '***' }, rule: 'txt-only' })
  t.same(policy.decide(message({ type: 'img', filename: 'bad.png' })), { valid: true }, 'img out of scope')
  t.same(policy.decide(message({ type: 'txt', msg: 'x.exe' })), { valid: true }, 'file rule does not look at txt')
  t.same(policy.decide(message({ type: 'file', filename: 'x.exe' })), { valid: false, code: 'message blocked', rule: 'files' })
  t.same(policy.decide(message({ type: 'txt', subType: 'sub_combine', title: 'bad' })), { valid: true }, 'combine is not txt')

  const mixed = { ext: {}, bodies: [{ type: 'txt', msg: 'bad text' }, { type: 'img', filename: 'bad.png' }] }
  t.same(policy.decide(message(mixed)), {
    valid: true,
    payload: { ext: {}, bodies: [{ type: 'txt', msg: '*** text' }, { type: 'img', filename: 'bad.png' }] },
    rule: 'txt-only'
  }, 'only the in-scope body is masked')
})

t.test('ext: listed paths are matched and masked, in the {ext, bodies} form only', async t => {
  const policy = rules({
    rules: [
      { name: 'names', action: 'mask', words: ['bad'], ext: ['nickname', 'em_apns_ext.em_push_content'] },
      { name: 'block-ext', action: 'block', words: ['evil'], ext: ['em_apns_ext.em_push_title'] },
      { name: 'body-only', action: 'block', words: ['boom'] }
    ]
  })
  const ext = {
    nickname: 'BadGuy',
    other: 'bad too',
    count: 3,
    em_apns_ext: { em_push_content: 'bad push', em_push_title: 'fine', extra: 'bad' }
  }
  t.same(policy.decide(message({ ext, bodies: [{ type: 'txt', msg: 'hello' }] })), {
    valid: true,
    payload: {
      ext: { nickname: '***Guy', other: 'bad too', count: 3, em_apns_ext: { em_push_content: '*** push', em_push_title: 'fine', extra: 'bad' } },
      bodies: [{ type: 'txt', msg: 'hello' }]
    },
    rule: 'names'
  }, 'only listed paths, nested objects copied')
  t.equal(ext.nickname, 'BadGuy', 'the request ext is not modified')
  t.equal(ext.em_apns_ext.em_push_content, 'bad push')

  t.same(policy.decide(message({ ext: { em_apns_ext: { em_push_title: 'EVIL' } }, bodies: [{ type: 'txt', msg: 'hi' }] })),
    { valid: false, code: 'message blocked', rule: 'block-ext' }, 'block through ext')
  t.same(policy.decide(message({ ext: { nickname: 'boom' }, bodies: [{ type: 'txt', msg: 'hi' }] })), { valid: true },
    'rules without the path do not look at ext')
  t.same(policy.decide(message({ ext: { nickname: { deep: 'bad' }, em_apns_ext: 'bad' }, bodies: [{ type: 'txt', msg: 'hi' }] })),
    { valid: true }, 'non-string values and paths through non-objects are ignored')
  t.same(policy.decide(message({ type: 'txt', msg: 'hi', nickname: 'bad' })), { valid: true }, 'the flat form has no ext')
})

t.test('chatroomLevel: set in rooms only, by mask and pass rules', async t => {
  const policy = rules({
    rules: [
      { name: 'gifts', action: 'pass', words: ['gift_sent'], chatroomLevel: 'low' },
      { name: 'loud', action: 'mask', words: ['bad'], chatroomLevel: 'high' }
    ]
  })
  const custom = sample('pre_send_chatroom_custom')
  t.same(policy.decide(message(custom.payload, 'chatroom')), { valid: true, chatroom_msg_level: 'low', rule: 'gifts' })
  t.same(policy.decide(message(custom.payload, 'groupchat')), { valid: true, rule: 'gifts' }, 'no level outside rooms')
  t.same(policy.decide(message({ type: 'txt', msg: 'bad gift_sent' }, 'chatroom')),
    { valid: true, payload: { type: 'txt', msg: '*** gift_sent' }, chatroom_msg_level: 'low', rule: 'gifts,loud' }, 'first rule in file order sets it')
  t.same(policy.decide(message({ type: 'txt', msg: 'bad' }, 'chatroom')),
    { valid: true, payload: { type: 'txt', msg: '***' }, chatroom_msg_level: 'high', rule: 'loud' })
  t.same(policy.decide(message({ type: 'txt', msg: 'quiet' }, 'chatroom')), { valid: true })
})

t.test('a masked reply over 1000 characters is blocked, or left to the route with maskTooLong: fallback', async t => {
  const long = { type: 'txt', msg: `bad ${'x'.repeat(1000)}` }
  const spec: RulesFile = { defaultCode: 'too long', rules: [{ name: 'mask-bad', action: 'mask', words: ['bad'] }] }
  const blocked = rules(spec).decide(message(long))
  t.equal(blocked.valid, false)
  t.equal(blocked.code, 'too long')
  t.match(blocked.rule, /^mask-bad \(masked reply of \d+ characters is over Easemob's 1000\)$/)
  const fallback = rules({ ...spec, maskTooLong: 'fallback' }).decide(message(long))
  t.same(fallback, { valid: true, payload: { type: 'txt', msg: `*** ${'x'.repeat(1000)}` }, rule: 'mask-bad' })
  t.same(rules(spec).decide(message({ type: 'txt', msg: `${'x'.repeat(1000)}` })), { valid: true }, 'a long clean message passes')
})

t.test('no match: the same { valid: true }, no payload, no rule', async t => {
  const policy = rules(BASE)
  const first = policy.decide(message({ type: 'txt', msg: 'is the build green?' }))
  const second = policy.decide(message({ type: 'txt', msg: 'yes' }))
  t.same(first, { valid: true })
  t.equal(first, second, 'one shared decision object')
  t.ok(Object.isFrozen(first), 'frozen, so a caller cannot change it for everyone')
  const empty = compileRules({ rules: [] })
  t.equal(empty.ruleCount, 0)
  t.same(empty.decide(message({ type: 'txt', msg: 'evil' })), { valid: true })
})

t.test('a rule can be matched by several texts and several rules by one word', async t => {
  const policy = rules({
    rules: [
      { name: 'a', action: 'mask', words: ['dup'] },
      { name: 'b', action: 'mask', words: ['dup', 'other'] }
    ]
  })
  t.equal(policy.wordCount, 2, 'the shared word is one automaton entry')
  t.same(policy.decide(message({ type: 'txt', msg: 'dup other' })), { valid: true, payload: { type: 'txt', msg: '*** *****' }, rule: 'a,b' })
})

t.test('5,000 words across rules decide correctly', async t => {
  const blockWords = Array.from({ length: 2500 }, (_, i) => `blk${i}词`)
  const maskWords = Array.from({ length: 2500 }, (_, i) => `msk${i}字`)
  const policy = rules({ rules: [{ name: 'block', action: 'block', words: blockWords }, { name: 'mask', action: 'mask', words: maskWords }] })
  t.equal(policy.wordCount, 5000)
  t.same(policy.decide(message({ type: 'txt', msg: '前BLK2499词后' })), { valid: false, code: 'message blocked', rule: 'block' })
  t.same(policy.decide(message({ type: 'txt', msg: '前ｍｓｋ１２３４字后' })), { valid: true, payload: { type: 'txt', msg: '前********后' }, rule: 'mask' })
  t.same(policy.decide(message({ type: 'txt', msg: 'blk 词 msk 字 blk2500词' })), { valid: true }, 'near misses pass')
})

t.test('decisions are independent: state does not leak between calls', async t => {
  const policy = rules(BASE)
  const decisions: PreSendDecision[] = []
  for (const msg of ['evil', 'fine', 'bad', 'fine', 'evil bad', 'fine']) decisions.push(policy.decide(message({ type: 'txt', msg })))
  t.same(decisions.map(decision => decision.rule ?? 'pass'), ['no-evil', 'pass', 'mask-bad', 'pass', 'no-evil', 'pass'])
})
