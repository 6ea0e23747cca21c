import { Type } from '@sinclair/typebox'
import { AnyBody } from './bodies.js'
import { messageEnvelopeFields } from './messages.js'
import { BooleanLike, envelopeFields, Ext, MessageId, NumberLike, ObjectOrString, serverFields, StringList } from './primitives.js'

// Non-message callbacks (docs/protocol.md#telling-callbacks-apart, and Easemob's page for each event
// under https://doc.easemob.com/document/server-side/). Operation names and sub-types are plain
// strings, not literal unions: Easemob says new ones will appear and they must reach the handler.

const opt = Type.Optional

/** Recall (`chat_type: recall`): `recall_id` is the recalled message. */
export const RecallEvent = Type.Object({
  ...messageEnvelopeFields,
  chat_type: Type.Literal('recall'),
  recall_id: opt(MessageId),
  payload: Type.Object({ ack_message_id: opt(MessageId), ext: opt(Ext), bodies: opt(Type.Array(AnyBody)) })
})

const ackPayload = Type.Object({
  ack_message_id: opt(MessageId),
  ext: opt(Ext),
  type: opt(Type.String()),
  msg_config: opt(Type.Object({ allow_group_ack: opt(BooleanLike) }))
})

const ackFields = {
  ...messageEnvelopeFields,
  payload: ackPayload,
  channel_channel: opt(Type.String()),
  channel_user: opt(Type.String()),
  writed_channel: opt(BooleanLike)
}

/** Read receipt, single or group. */
export const ReadAckEvent = Type.Object({ ...ackFields, chat_type: Type.Literal('read_ack') })
/** Delivery receipt: undocumented; assumed to mirror read_ack. */
export const DeliveryAckEvent = Type.Object({ ...ackFields, chat_type: Type.Literal('delivery_ack') })
/** Conversation read receipt. */
export const ChannelAckEvent = Type.Object({ ...ackFields, chat_type: Type.Literal('channel_ack') })

/** Message edit: the new content is in `payload.bodies`, the edited message in `edit_message_id`. */
export const EditEvent = Type.Object({
  ...messageEnvelopeFields,
  chat_type: Type.Literal('edit'),
  payload: Type.Object({
    bodies: Type.Array(AnyBody),
    edit_message_id: MessageId,
    ext: opt(Ext),
    from: opt(Type.String()),
    to: opt(Type.String()),
    type: opt(Type.String()),
    meta: opt(Type.Object({
      edit_msg: opt(Type.Object({
        count: opt(NumberLike),
        edit_time: opt(NumberLike),
        operator: opt(Type.String()),
        send_time: opt(NumberLike),
        sender: opt(Type.String())
      }))
    }))
  })
})

const ReactionState = Type.Object({
  reaction: Type.String(),
  userList: opt(StringList),
  count: opt(NumberLike),
  op: opt(Type.Array(Type.Object({ reactionType: opt(Type.String()), operator: opt(Type.String()) })))
})

/** Reaction (`chat_type: notify`, `payload.type: reaction`). */
export const ReactionEvent = Type.Object({
  ...messageEnvelopeFields,
  chat_type: Type.Literal('notify'),
  payload: Type.Object({
    type: Type.Literal('reaction'),
    channel_type: opt(Type.String()),
    num: opt(NumberLike),
    data: Type.Array(Type.Object({
      messageId: MessageId,
      from: opt(Type.String()),
      to: opt(Type.String()),
      channel_type: opt(Type.String()),
      ts: opt(NumberLike),
      reactions: opt(Type.Array(ReactionState))
    }))
  })
})

/** Thread (`chat_type: notify`, `payload.type: thread`). */
export const ThreadEvent = Type.Object({
  ...messageEnvelopeFields,
  chat_type: Type.Literal('notify'),
  payload: Type.Object({
    type: Type.Literal('thread'),
    data: Type.Object({
      id: Type.String(),
      name: opt(Type.String()),
      from: opt(Type.String()),
      operation: opt(Type.String()),
      msg_parent_id: opt(MessageId),
      muc_parent_id: opt(Type.String()),
      message_count: opt(NumberLike),
      timestamp: opt(NumberLike),
      last_message: opt(Type.Unknown())
    })
  })
})

/** User online status: no `chat_type`; `reason` is login, logout or replaced. */
export const UserStatusEvent = Type.Object({
  ...envelopeFields,
  ...serverFields,
  user: Type.String(),
  status: Type.String(),
  reason: Type.String(),
  os: opt(Type.String()),
  ip: opt(Type.String()),
  version: opt(Type.String())
})

/** Contact operation (`chat_type: roster`). */
export const RosterEvent = Type.Object({
  ...messageEnvelopeFields,
  chat_type: Type.Literal('roster'),
  payload: Type.Object({
    operation: Type.String(),
    reason: opt(ObjectOrString),
    roster_ver: opt(Type.String()),
    status: opt(Type.Object({ error_code: opt(Type.String()), description: opt(Type.String()) }))
  })
})

/** `info` of a group: numbers and booleans arrive as strings. */
const GroupInfo = Type.Object({
  owner: opt(Type.String()),
  created: opt(NumberLike),
  last_modified: opt(NumberLike),
  custom: opt(Type.String()),
  description: opt(Type.String()),
  avatar: opt(Type.String()),
  title: opt(Type.String()),
  mute: opt(BooleanLike),
  invite_need_confirm: opt(BooleanLike),
  public: opt(BooleanLike),
  allow_user_invites: opt(BooleanLike),
  disabled: opt(BooleanLike),
  max_users: opt(NumberLike),
  mute_duration: opt(NumberLike)
})

/** Group and chat-room operation, current format (`event: group_op_event`). */
export const GroupOpEvent = Type.Object({
  ...envelopeFields,
  appkey: opt(Type.String()),
  event: Type.Literal('group_op_event'),
  id: Type.String(),
  type: Type.String(),
  operation: Type.String(),
  operator: opt(Type.String()),
  member_count: opt(NumberLike),
  payload: opt(Type.Object({
    type: opt(Type.String()),
    member: opt(StringList),
    admin: opt(StringList),
    share_file: opt(StringList),
    role: opt(Type.Record(Type.String(), Type.String())),
    info: opt(GroupInfo),
    mute: opt(BooleanLike),
    disable: opt(BooleanLike),
    owner: opt(Type.String()),
    new_owner: opt(Type.String()),
    announcement: opt(Type.String()),
    expire_timestamp: opt(NumberLike)
  }))
})

/**
 * Group and chat-room operation, legacy format (`chat_type: muc`). `reason` is an object in
 * Easemob's current callback-configuration page and a string (sometimes JSON text) in older docs
 * and Agora's.
 */
export const MucEvent = Type.Object({
  ...messageEnvelopeFields,
  chat_type: Type.Literal('muc'),
  payload: Type.Object({
    operation: Type.String(),
    muc_id: opt(Type.String()),
    is_chatroom: opt(BooleanLike),
    reason: opt(ObjectOrString),
    status: opt(Type.Object({ error_code: opt(Type.String()), description: opt(Type.String()) })),
    event_info: opt(Type.Object({ ext: opt(ObjectOrString), type: opt(Type.String()) }))
  })
})

/** Sensitive-word hit (`eventType: keyword_alert`). */
export const KeywordAlertEvent = Type.Object({
  ...envelopeFields,
  ...serverFields,
  eventType: Type.Literal('keyword_alert'),
  alertReason: opt(Type.String()),
  status: opt(Type.String()),
  sensitiveWords: opt(StringList),
  contentOwner: opt(Type.String()),
  contentReceiver: opt(Type.String()),
  contentUri: opt(Type.String()),
  contentType: opt(Type.String()),
  chatType: opt(Type.String())
})

/** Content-moderation result (`eventType: moderation`). */
export const ModerationEvent = Type.Object({
  ...envelopeFields,
  ...serverFields,
  eventType: Type.Literal('moderation'),
  moderationResult: Type.String(),
  providerResult: opt(Type.String()),
  messageType: opt(Type.String()),
  messageId: opt(MessageId),
  targetType: opt(Type.String()),
  riskType: opt(Type.String()),
  from: opt(Type.String()),
  to: opt(Type.String()),
  msg: opt(Type.String()),
  url: opt(Type.String()),
  source: opt(Type.Unknown())
})

/** Offline-push result (`step: push`). */
export const OfflinePushEvent = Type.Object({
  ...envelopeFields,
  ...serverFields,
  step: Type.Literal('push'),
  status: Type.String(),
  target: Type.String(),
  chat_type: opt(Type.String()),
  msg_id: opt(MessageId),
  group_id: opt(Type.String()),
  from: opt(Type.String()),
  payload: opt(Type.Unknown()),
  channel: opt(Type.String()),
  notifier_name: opt(Type.String()),
  device_id: opt(Type.String()),
  device_token: opt(Type.String()),
  data: opt(Type.Unknown()),
  detail: opt(Type.String()),
  e_message: opt(Type.String())
})

/** Anything signed that no other schema describes; only the envelope is known. */
export const UnknownEvent = Type.Object(envelopeFields)
