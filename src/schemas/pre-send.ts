import { Type, type Static } from '@sinclair/typebox'
import { AudioBody, CmdBody, CustomBody, FileBody, ImgBody, LocBody, TxtBody, VideoBody } from './bodies.js'
import { envelopeFields, JsonObject, MessageId, NumberLike, serverFields } from './primitives.js'

// Pre-send requests and the reply Easemob expects (docs/protocol.md#pre-send).

/** Easemob counts a reply over 1000 characters as an attack and applies its fallback (docs/protocol.md#pre-send). */
export const MAX_REPLY_CHARS = 1000

/** The current docs' merged-message sample has no `type` (docs/protocol.md#pre-send). */
export const PreSendCombineBody = Type.Object({
  type: Type.Optional(Type.Literal('txt')),
  subType: Type.Literal('sub_combine'),
  url: Type.Optional(Type.String()),
  filename: Type.Optional(Type.String()),
  secret: Type.Optional(Type.String()),
  file_length: Type.Optional(NumberLike),
  combineLevel: Type.Optional(NumberLike),
  summary: Type.Optional(Type.String()),
  title: Type.Optional(Type.String()),
  msg: Type.Optional(Type.String())
})

/** A body of a type this package does not know; it still reaches the policy. */
export const PreSendOtherBody = Type.Object({ type: Type.String() })

export const PreSendBody = Type.Union([
  PreSendCombineBody, TxtBody, ImgBody, AudioBody, VideoBody, FileBody, LocBody, CmdBody, CustomBody, PreSendOtherBody
])

/** The older docs' and Agora's form: the payload of the history API, with `ext` and `bodies`. */
export const PreSendBodiesPayload = Type.Object({
  bodies: Type.Array(PreSendBody),
  /** Whatever the sender set; a published capture carries `true`. Moderation must not be skipped for it. */
  ext: Type.Optional(Type.Unknown()),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  type: Type.Optional(Type.String())
})

export const PreSendRequest = Type.Object({
  ...envelopeFields,
  ...serverFields,
  /** chat, groupchat, group or chatroom: the docs use all four (docs/protocol.md#known-quirks). */
  chat_type: Type.String(),
  group_id: Type.Optional(Type.String()),
  from: Type.String(),
  to: Type.String(),
  msg_id: MessageId,
  /** Either the single body itself (current docs) or `{ext, bodies}` (older docs, Agora): docs/protocol.md#pre-send. */
  payload: Type.Union([PreSendBodiesPayload, PreSendBody])
})

export type PreSendBody = Static<typeof PreSendBody>
export type PreSendBodiesPayload = Static<typeof PreSendBodiesPayload>
export type PreSendRequest = Static<typeof PreSendRequest>

export const PRE_SEND_KINDS = ['txt', 'img', 'audio', 'video', 'file', 'loc', 'cmd', 'custom', 'combine', 'unknown'] as const
export type PreSendKind = typeof PRE_SEND_KINDS[number]

/** What the `preSend` function receives: the request as Easemob sent it, plus the kind of its (first) body. */
export type PreSendMessage = PreSendRequest & { kind: PreSendKind }

/**
 * Easemob's pre-send reply (docs/protocol.md#pre-send), and nothing else: `valid` decides, `code` is shown to a
 * blocked sender, `payload` replaces the message (same form as the request's), `chatroom_msg_level`
 * sets a room message's priority.
 */
export const PreSendReply = Type.Object({
  valid: Type.Boolean(),
  code: Type.Optional(Type.String()),
  payload: Type.Optional(JsonObject),
  chatroom_msg_level: Type.Optional(Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')]))
}, { additionalProperties: false })

export type PreSendReply = Static<typeof PreSendReply>

/** A decision is the reply, optionally naming the rule that made it (logged, never sent). */
export type PreSendDecision = PreSendReply & { rule?: string }
