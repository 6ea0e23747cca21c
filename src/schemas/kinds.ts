import type { Static } from '@sinclair/typebox'
import * as events from './events.js'
import * as messages from './messages.js'

/** One schema per handler kind: the single source of both validation and the handlers' types. */
export const callbackSchemas = {
  txt: messages.TxtMessage,
  img: messages.ImgMessage,
  audio: messages.AudioMessage,
  video: messages.VideoMessage,
  file: messages.FileMessage,
  loc: messages.LocMessage,
  cmd: messages.CmdMessage,
  custom: messages.CustomMessage,
  combine: messages.CombineMessage,
  recall: events.RecallEvent,
  read_ack: events.ReadAckEvent,
  delivery_ack: events.DeliveryAckEvent,
  channel_ack: events.ChannelAckEvent,
  edit: events.EditEvent,
  reaction: events.ReactionEvent,
  thread: events.ThreadEvent,
  user_status: events.UserStatusEvent,
  roster: events.RosterEvent,
  group_op: events.GroupOpEvent,
  muc: events.MucEvent,
  keyword_alert: events.KeywordAlertEvent,
  moderation: events.ModerationEvent,
  offline_push: events.OfflinePushEvent,
  unknown: events.UnknownEvent
} as const

export type CallbackKind = keyof typeof callbackSchemas

export const MESSAGE_KINDS = ['txt', 'img', 'audio', 'video', 'file', 'loc', 'cmd', 'custom', 'combine'] as const
export type MessageKind = typeof MESSAGE_KINDS[number]

/** The `type` values of message bodies; a merged message is a `txt` body with a subType. */
export const BODY_TYPES: ReadonlySet<string> = new Set(MESSAGE_KINDS.filter(kind => kind !== 'combine'))

export const CALLBACK_KINDS = Object.keys(callbackSchemas) as CallbackKind[]

/** Why a callback was routed as `unknown`. */
export interface Unrecognised {
  /** The kind whose shape it has, when it has one: that kind's schema refused it. */
  looksLike?: CallbackKind
  /** A chat message (`chat_type` chat, groupchat or chatroom), whatever its body: it reaches `message` too. */
  message: boolean
  /** What did not fit, in words. */
  reason: string
}

/**
 * The event a handler receives: the callback body as Easemob sent it, plus the `kind` it was
 * routed as, and for `unknown` why it was not recognised.
 */
export type CallbackEvent<K extends CallbackKind = CallbackKind> = {
  [P in K]: Static<typeof callbackSchemas[P]> & { kind: P } & (P extends 'unknown' ? { unrecognised: Unrecognised } : unknown)
}[K]

/** A chat message whose body type is new to the package or did not fit its kind's schema. */
export type UnrecognisedMessageEvent = Static<typeof messages.UnrecognisedMessage> & {
  kind: 'unknown'
  unrecognised: Unrecognised & { message: true }
}

/**
 * What the `message` handler receives: every chat, group and room message. `kind` is its body
 * type, or `unknown` when the body is of a type the package does not know or did not fit.
 */
export type MessageEvent = CallbackEvent<MessageKind> | UnrecognisedMessageEvent

export function isMessageKind (kind: CallbackKind): kind is MessageKind {
  return (MESSAGE_KINDS as readonly string[]).includes(kind)
}
