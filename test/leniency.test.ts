// docs/protocol.md#known-quirks: Easemob's docs and servers disagree with themselves. A signed callback with one of
// those quirks is answered 200 and reaches a handler; it is never rejected.
import t from 'tap'
import type { SampleBody } from '../src/samples.js'
import { build, post, recorder, sample, signed } from './helpers/callbacks.js'

type Json = Record<string, unknown>

function bodies (body: SampleBody): Json[] {
  return (body.payload as { bodies: Json[] }).bodies
}

function payload (body: SampleBody): Json {
  return body.payload as Json
}

interface Quirk {
  name: string
  from: string
  change: (body: SampleBody) => void
  kind: string
  /** Checks on the event the kind handler received. */
  check?: (t: TapTest, event: Json) => void
  /** How the timestamp is sent, when not the number NOW. */
  timestamp?: string
  /** Whether it reaches the `message` handler; default: for the chat-message kinds. */
  message?: boolean
}

const CHAT_MESSAGE_KINDS = ['txt', 'img', 'audio', 'video', 'file', 'loc', 'cmd', 'custom', 'combine']

/** The type of a subtest's `t` (the last overload of t.test takes only the callback). */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const QUIRKS: Quirk[] = [
  {
    name: 'group info with numbers and booleans as strings',
    from: 'post_group_info',
    change: () => {},
    kind: 'group_op',
    check: (t, event) => {
      const info = (event.payload as { info: Json }).info
      t.equal(info.max_users, '200')
      t.equal(info.created, '1735690200000')
      t.equal(info.mute, 'false')
      t.equal(info.public, 'true')
      t.equal(info.mute_duration, -1)
    }
  },
  {
    name: 'group info with every value a string, mute_duration too',
    from: 'post_group_create',
    change: body => { (payload(body).info as Json).mute_duration = '-1' },
    kind: 'group_op',
    check: (t, event) => t.equal(((event.payload as Json).info as Json).mute_duration, '-1')
  },
  {
    name: 'group info with real numbers and booleans',
    from: 'post_group_info',
    change: body => Object.assign(payload(body).info as Json, { max_users: 200, created: 1735690200000, mute: false, public: true }),
    kind: 'group_op'
  },
  {
    name: 'cmd body with `msg` instead of `action`',
    from: 'post_chat_cmd',
    change: body => { bodies(body)[0] = { type: 'cmd', msg: 'refresh_profile' } },
    kind: 'cmd',
    check: (t, event) => t.same(((event.payload as Json).bodies as Json[])[0], { type: 'cmd', msg: 'refresh_profile' })
  },
  {
    name: 'cmd body with both `action` and `msg`',
    from: 'post_chat_cmd',
    change: body => { bodies(body)[0].msg = 'refresh_profile' },
    kind: 'cmd'
  },
  {
    name: 'unknown extra top-level and body fields',
    from: 'post_chat_txt',
    change: body => {
      body.brand_new_field = { nested: [1, 2, 3] }
      body.region = 'cn-east'
      bodies(body)[0].lang = 'en'
      bodies(body)[0].translations = [{ lang: 'zh', msg: '你好' }]
      payload(body).meta = { pinned: true }
    },
    kind: 'txt',
    check: (t, event) => {
      t.same(event.brand_new_field, { nested: [1, 2, 3] }, 'extra fields reach the handler')
      t.equal(((event.payload as Json).bodies as Json[])[0].lang, 'en')
    }
  },
  {
    name: 'unknown extra fields on a group_op and a user status',
    from: 'post_group_join',
    change: body => { body.extra = 1; payload(body).reason_code = 7 },
    kind: 'group_op'
  },
  {
    name: 'unknown group_op operation "FOO" (Easemob says more will be added)',
    from: 'post_group_join',
    change: body => { body.operation = 'FOO' },
    kind: 'group_op',
    check: (t, event) => t.equal(event.operation, 'FOO')
  },
  {
    name: 'unknown group_op payload.type',
    from: 'post_group_blocklist',
    change: body => { payload(body).type = 'SOMETHING_NEW' },
    kind: 'group_op'
  },
  {
    name: 'group_op of type CHATROOM with an empty id',
    from: 'post_chatroom_super_admin',
    change: body => { body.id = '' },
    kind: 'group_op'
  },
  {
    name: 'unknown legacy muc operation',
    from: 'post_muc_legacy_presence',
    change: body => { payload(body).operation = 'group_member_metadata_update_v2' },
    kind: 'muc'
  },
  {
    name: 'the misspelt wire value assing_owner',
    from: 'post_muc_legacy_presence',
    change: body => { payload(body).operation = 'assing_owner'; body.to = 'admin' },
    kind: 'muc'
  },
  {
    name: 'unknown roster operation',
    from: 'post_roster_add',
    change: body => { payload(body).operation = 'remote_block' },
    kind: 'roster'
  },
  {
    name: 'unknown body type "translation": routed as unknown, and still a message',
    from: 'post_chat_txt',
    change: body => { bodies(body)[0] = { type: 'translation', msg: 'hi', lang: 'fr' } },
    kind: 'unknown',
    message: true,
    check: (t, event) => t.equal(((event.payload as Json).bodies as Json[])[0].type, 'translation')
  },
  {
    name: 'body type "unknown" (content_type chat:user:unknown)',
    from: 'post_chat_txt',
    change: body => { bodies(body)[0] = { type: 'unknown' }; body.content_type = 'chat:user:unknown' },
    kind: 'unknown',
    message: true
  },
  {
    name: 'unknown notify payload.type',
    from: 'post_reaction',
    change: body => { payload(body).type = 'pin' },
    kind: 'unknown'
  },
  {
    name: 'unknown chat_type',
    from: 'post_read_ack',
    change: body => { body.chat_type = 'delivery_receipt_v2' },
    kind: 'unknown'
  },
  {
    name: 'missing securityVersion',
    from: 'post_chat_txt',
    change: body => { delete body.securityVersion },
    kind: 'txt'
  },
  {
    name: 'the `ecurityVersion` typo on the 2017 sample shape',
    from: 'legacy_sample_project_video_as_audio',
    change: () => {},
    kind: 'audio',
    check: (t, event) => {
      t.equal(event.ecurityVersion, '1.0.0')
      t.equal(event.securityVersion, undefined)
    }
  },
  {
    name: 'a video labelled audio with thumb fields is classified by type',
    from: 'legacy_sample_project_video_as_audio',
    change: body => { Object.assign(bodies(body)[0], { thumb: 'https://x/t', thumb_secret: 's', size: { width: 1, height: 2 } }) },
    kind: 'audio'
  },
  {
    name: 'a txt message missing `msg`: routed as unknown, not rejected',
    from: 'post_chat_txt',
    change: body => { delete bodies(body)[0].msg },
    kind: 'unknown',
    message: true
  },
  {
    name: 'a message with an empty bodies array',
    from: 'post_chat_txt',
    change: body => { payload(body).bodies = [] },
    kind: 'unknown',
    message: true
  },
  {
    name: 'a message without payload',
    from: 'post_chat_txt',
    change: body => { delete body.payload },
    kind: 'unknown',
    message: true
  },
  {
    name: 'sample-project placeholders: empty msg_id and group_id',
    from: 'post_groupchat_txt',
    change: body => { body.msg_id = ''; body.group_id = '' },
    kind: 'txt'
  },
  {
    name: 'msg_id as a number (the Thread table says Long)',
    from: 'post_chat_txt',
    change: body => { body.msg_id = 1392847561 },
    kind: 'txt'
  },
  {
    name: 'chat_type chatroom on a message',
    from: 'post_groupchat_txt',
    change: body => { body.chat_type = 'chatroom' },
    kind: 'txt'
  },
  {
    name: 'merged-message payload.type chatroom',
    from: 'post_chat_combine',
    change: body => { payload(body).type = 'chatroom' },
    kind: 'combine'
  },
  {
    name: 'location lat/lng as strings',
    from: 'post_chat_loc',
    change: body => { Object.assign(bodies(body)[0], { lat: '39.9', lng: '116.4' }) },
    kind: 'loc'
  },
  {
    name: 'image size and lengths as strings',
    from: 'post_chat_offline_img',
    change: body => { Object.assign(bodies(body)[0], { file_length: '204877', size: { width: '1080', height: '1920' } }) },
    kind: 'img'
  },
  {
    name: 'image without file_length, secret or size (sample project)',
    from: 'post_chat_offline_img',
    change: body => { const b = bodies(body)[0]; delete b.file_length; delete b.secret; delete b.size },
    kind: 'img'
  },
  {
    name: 'custom body with only the legacy customExts',
    from: 'post_chat_custom',
    change: body => { delete bodies(body)[0]['v2:customExts'] },
    kind: 'custom'
  },
  {
    name: 'payload.ext holding nested objects and arrays',
    from: 'post_chat_txt',
    change: body => { payload(body).ext = { a: { b: [1, { c: null }] }, em_apns_ext: { em_push_title: 't' } } },
    kind: 'txt'
  },
  {
    name: 'offline push with timestamp as a digit string',
    from: 'post_offline_push_success',
    change: () => {},
    timestamp: 'string',
    kind: 'offline_push',
    check: (t, event) => t.type(event.timestamp, 'string')
  },
  {
    name: 'sensitive-word "replace" sample carrying alertReason intercepted',
    from: 'post_sensitive_word',
    change: body => { body.alertReason = 'intercepted'; body.status = 'replace' },
    kind: 'keyword_alert'
  },
  {
    name: 'group read ack with writed_channel as a string',
    from: 'post_group_read_ack',
    change: body => { body.writed_channel = 'true' },
    kind: 'read_ack'
  },
  {
    name: 'Agora-style callId without the underscore',
    from: 'post_chat_txt',
    change: body => { body.callId = 'XXXX#XXXXe393c568-1111-2222-3333-444455556666' },
    kind: 'txt'
  },
  {
    name: 'edit without eventType',
    from: 'post_edit',
    change: body => { delete body.eventType },
    kind: 'edit'
  },
  {
    name: 'legacy muc with reason as an object (Easemob\'s current callback-configuration page)',
    from: 'post_muc_legacy_upload_file',
    change: body => { payload(body).reason = { data: { file_id: 'f-1', file_name: 'plan.pdf' } } },
    kind: 'muc',
    check: (t, event) => t.same((event.payload as Json).reason, { data: { file_id: 'f-1', file_name: 'plan.pdf' } })
  },
  {
    name: 'roster with reason as an object',
    from: 'post_roster_add',
    change: body => { payload(body).reason = { text: 'hi' } },
    kind: 'roster'
  },
  {
    name: 'metadata event_info.ext as an object',
    from: 'post_muc_legacy_set_metadata',
    change: body => { payload(body).event_info = { ext: { level: '3' }, type: 'event_none' } },
    kind: 'muc'
  },
  {
    name: 'message ext as JSON text',
    from: 'post_chat_txt',
    change: body => { payload(body).ext = '{"em_force_notification":true}' },
    kind: 'txt'
  },
  {
    name: 'custom body with customExts as JSON text',
    from: 'post_chat_custom',
    change: body => { bodies(body)[0].customExts = '[{"k":"v"}]' },
    kind: 'custom'
  },
  {
    name: 'user status with an unknown reason',
    from: 'post_user_logout',
    change: body => { body.reason = 'kicked_by_rest'; body.os = 'harmonyos' },
    kind: 'user_status'
  }
]

for (const quirk of QUIRKS) {
  t.test(`${quirk.name} -> 200, ${quirk.kind}`, async t => {
    const rec = recorder()
    const app = await build({ handlers: rec.handlers })
    t.teardown(() => app.close())
    const body = sample(quirk.from)
    quirk.change(body)
    const text = quirk.timestamp === undefined ? signed(body) : signed(body, { timestamp: String(1_800_000_000_000) })
    const res = await post(app, text)
    t.equal(res.statusCode, 200, 'not rejected')
    t.same(res.json(), { status: 'ok' })
    const handlers = rec.names()
    t.equal(handlers[0], quirk.kind, `routed as ${quirk.kind}`)
    t.equal(handlers.at(-1), '*')
    t.equal(handlers.includes('message'), quirk.message ?? CHAT_MESSAGE_KINDS.includes(quirk.kind),
      'message handler for every chat message, and only for those')
    const { unrecognised, ...event } = rec.calls[0].event as Json
    t.same(event, { ...JSON.parse(text), kind: quirk.kind }, 'the body reaches the handler as sent')
    if (quirk.kind === 'unknown') t.match(unrecognised, { message: quirk.message ?? false, reason: String }, 'with why it was not recognised')
    else t.equal(unrecognised, undefined)
    quirk.check?.(t, rec.calls[0].event as unknown as Json)
  })
}

t.test('an unknown body type goes to unknown, message and *: not to txt', async t => {
  const rec = recorder()
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const body = sample('post_chat_txt')
  bodies(body)[0] = { type: 'translation', msg: 'bonjour' }
  t.equal((await post(app, signed(body))).statusCode, 200)
  t.same(rec.names(), ['unknown', 'message', '*'])
  t.same(rec.calls[1].event.kind === 'unknown' && rec.calls[1].event.unrecognised, {
    message: true,
    reason: 'body type "translation" is not one this package knows'
  }, 'the message handler is told why')
})

t.test('an event that fails its kind\'s schema reaches unknown and * with the kind it looks like', async t => {
  const rec = recorder()
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const body = sample('post_group_create')
  body.operation = 42
  t.equal((await post(app, signed(body))).statusCode, 200)
  t.same(rec.names(), ['unknown', '*'])
  t.match(rec.calls[1].event, { kind: 'unknown', unrecognised: { looksLike: 'group_op', message: false, reason: /operation/ } })
})

t.test('with no unknown handler, unknown callbacks still reach message and * and are answered ok', async t => {
  const rec = recorder(['*', 'message', 'txt'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  const body = sample('post_chat_txt')
  delete bodies(body)[0].msg
  const res = await post(app, signed(body))
  t.same(res.json(), { status: 'ok' })
  t.same(rec.names(), ['message', '*'])
})
