import { Type, type TSchema } from '@sinclair/typebox'
import { AudioBody, CmdBody, CombineBody, CustomBody, FileBody, ImgBody, LocBody, TxtBody, VideoBody } from './bodies.js'
import { envelopeFields, Ext, MessageId, serverFields } from './primitives.js'

/** Envelope of chat messages and most message-like events (docs/protocol.md#telling-callbacks-apart). */
export const messageEnvelopeFields = {
  ...envelopeFields,
  ...serverFields,
  eventType: Type.Optional(Type.String()),
  chat_type: Type.String(),
  from: Type.String(),
  to: Type.String(),
  msg_id: MessageId,
  group_id: Type.Optional(Type.String()),
  content_type: Type.Optional(Type.String())
}

/** A message callback (`chat_type` chat/groupchat) whose bodies are of one type. */
function messageCallback<B extends TSchema> (body: B) {
  return Type.Object({
    ...messageEnvelopeFields,
    payload: Type.Object({
      bodies: Type.Array(body, { minItems: 1 }),
      ext: Type.Optional(Ext),
      from: Type.Optional(Type.String()),
      to: Type.Optional(Type.String()),
      type: Type.Optional(Type.String())
    })
  })
}

export const TxtMessage = messageCallback(TxtBody)
export const ImgMessage = messageCallback(ImgBody)
export const AudioMessage = messageCallback(AudioBody)
export const VideoMessage = messageCallback(VideoBody)
export const FileMessage = messageCallback(FileBody)
export const LocMessage = messageCallback(LocBody)
export const CmdMessage = messageCallback(CmdBody)
export const CustomMessage = messageCallback(CustomBody)
export const CombineMessage = messageCallback(CombineBody)

/**
 * A chat message the package could not fit to a kind: a body type it does not know, or fields its
 * kind's schema refused. Only the envelope is certain; the rest is as Easemob sent it. Describes
 * what the `message` and `unknown` handlers receive for such a callback; nothing is checked with it.
 */
export const UnrecognisedMessage = Type.Object({
  ...envelopeFields,
  ...serverFields,
  eventType: Type.Optional(Type.String()),
  chat_type: Type.String(),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  msg_id: Type.Optional(MessageId),
  group_id: Type.Optional(Type.String()),
  payload: Type.Optional(Type.Unknown())
})
