// Every sample reaches its own kind, `message` when it is a chat message, and `*`: nothing else.
import t from 'tap'
import { build, NOW, post, recorder, sample, sampleNames, signed } from './helpers/callbacks.js'

const CHAT_MESSAGE_KINDS = new Set(['txt', 'img', 'audio', 'video', 'file', 'loc', 'cmd', 'custom', 'combine'])

/** The kind each sample file must be routed as, written out by hand from docs/protocol.md#telling-callbacks-apart. */
const EXPECTED: Record<string, string> = {
  legacy_sample_project_video_as_audio: 'audio',
  post_channel_ack: 'channel_ack',
  post_chat_audio: 'audio',
  post_chat_cmd: 'cmd',
  post_chat_combine: 'combine',
  post_chat_custom: 'custom',
  post_chat_file: 'file',
  post_chat_loc: 'loc',
  post_chat_offline_img: 'img',
  post_chat_txt: 'txt',
  post_chat_video: 'video',
  post_chatroom_join_apply: 'group_op',
  post_chatroom_super_admin: 'group_op',
  post_edit: 'edit',
  post_group_admin: 'group_op',
  post_group_allowlist: 'group_op',
  post_group_announcement: 'group_op',
  post_group_blocklist: 'group_op',
  post_group_create: 'group_op',
  post_group_delete: 'group_op',
  post_group_disable: 'group_op',
  post_group_info: 'group_op',
  post_group_join: 'group_op',
  post_group_leave_kick: 'group_op',
  post_group_mute_member: 'group_op',
  post_group_muteall: 'group_op',
  post_group_owner: 'group_op',
  post_group_read_ack: 'read_ack',
  post_group_share_file: 'group_op',
  post_group_shield: 'group_op',
  post_groupchat_txt: 'txt',
  post_moderation: 'moderation',
  post_muc_legacy_kick_room: 'muc',
  post_muc_legacy_presence: 'muc',
  post_muc_legacy_set_metadata: 'muc',
  post_muc_legacy_upload_file: 'muc',
  post_offline_push_fail: 'offline_push',
  post_offline_push_success: 'offline_push',
  post_reaction: 'reaction',
  post_read_ack: 'read_ack',
  post_recall: 'recall',
  post_roster_add: 'roster',
  post_roster_ban: 'roster',
  post_roster_remote_accept: 'roster',
  post_roster_remove: 'roster',
  post_sensitive_word: 'keyword_alert',
  post_thread: 'thread',
  post_user_login: 'user_status',
  post_user_logout: 'user_status',
  post_user_replaced: 'user_status',
  // Pre-send requests are not post-send callbacks: posted here they are signed chat messages of no
  // known shape (their payload is a bare body), so they reach unknown, message and *.
  pre_send_chatroom_custom: 'unknown',
  pre_send_combine: 'unknown',
  pre_send_group_img: 'unknown',
  pre_send_txt: 'unknown'
}

function isChatMessage (name: string, kind: string): boolean {
  return CHAT_MESSAGE_KINDS.has(kind) || name.startsWith('pre_send')
}

function expectedHandlers (name: string, kind: string): string[] {
  return isChatMessage(name, kind) ? [kind, 'message', '*'] : [kind, '*']
}

t.test('the expectation table covers every request sample in samples/', async t => {
  t.same(Object.keys(EXPECTED).sort(), sampleNames().sort())
})

for (const [name, kind] of Object.entries(EXPECTED)) {
  t.test(`${name} -> ${expectedHandlers(name, kind).join(' -> ')}`, async t => {
    const rec = recorder()
    const app = await build({ handlers: rec.handlers })
    t.teardown(() => app.close())
    const payload = signed(sample(name))
    const res = await post(app, payload)
    t.equal(res.statusCode, 200, 'answered 200')
    t.same(res.json(), { status: 'ok' })
    t.same(rec.names(), expectedHandlers(name, kind), 'exactly these handlers ran, in order')
    const sent = JSON.parse(payload) as Record<string, unknown>
    for (const call of rec.calls) {
      t.equal(call.event.kind, kind, `${call.name} got kind ${kind}`)
      const { unrecognised, ...event } = call.event as Record<string, unknown>
      t.same(event, { ...sent, kind }, `${call.name} got the body as sent, plus kind`)
      t.equal(unrecognised !== undefined, kind === 'unknown', 'and why, when it is unknown')
    }
    // Every handler of one callback sees the same event object.
    t.ok(rec.calls.every(call => call.event === rec.calls[0].event), 'one event object per callback')
  })
}

t.test('ids stay strings and values keep their JSON types', async t => {
  const rec = recorder(['txt', 'group_op', 'offline_push'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())

  t.equal((await post(app, signed(sample('post_chat_txt')))).statusCode, 200)
  const txt = rec.calls[0].event
  if (txt.kind !== 'txt') throw new Error('expected a txt event')
  t.equal(typeof txt.msg_id, 'string')
  t.equal(txt.msg_id, '1392847561029384756', 'an 19-digit id is not rounded')
  t.equal(txt.payload.bodies[0].msg, 'hello bob, lunch at noon?')
  t.equal(txt.timestamp, NOW, 'timestamp is the number that was sent')
  t.same(txt.payload.ext, { em_force_notification: true, client_tag: 't-42' })

  rec.reset()
  t.equal((await post(app, signed(sample('post_group_info')))).statusCode, 200)
  const info = rec.calls[0].event
  if (info.kind !== 'group_op') throw new Error('expected a group_op event')
  t.equal(info.payload?.info?.max_users, '200', 'string numbers are not coerced')
  t.equal(info.payload?.info?.public, 'true', 'string booleans are not coerced')
  t.equal(info.payload?.info?.mute_duration, -1)

  rec.reset()
  t.equal((await post(app, signed(sample('post_offline_push_success')))).statusCode, 200)
  const push = rec.calls[0].event
  if (push.kind !== 'offline_push') throw new Error('expected an offline_push event')
  t.equal(typeof (push.data as { pushNotification: { payload: unknown } }).pushNotification.payload, 'string',
    'JSON-in-a-string is left as a string')
})

t.test('kinds without a handler are still answered 200', async t => {
  const app = await build({ handlers: {} })
  t.teardown(() => app.close())
  for (const name of Object.keys(EXPECTED)) {
    const res = await post(app, signed(sample(name)))
    t.equal(res.statusCode, 200, name)
  }
})

t.test('only the matching kind handler runs when there is no message or * handler', async t => {
  const rec = recorder(['txt', 'img', 'group_op'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  await post(app, signed(sample('post_chat_txt')))
  await post(app, signed(sample('post_chat_audio')))
  await post(app, signed(sample('post_group_join')))
  t.same(rec.names(), ['txt', 'group_op'])
})

t.test('a message handler alone sees every chat message and nothing else', async t => {
  const rec = recorder(['message'])
  const app = await build({ handlers: rec.handlers })
  t.teardown(() => app.close())
  for (const name of Object.keys(EXPECTED)) await post(app, signed(sample(name)))
  const expected = Object.entries(EXPECTED).filter(([name, kind]) => isChatMessage(name, kind)).map(([, kind]) => kind)
  t.same(rec.calls.map(call => call.event.kind), expected)
})
