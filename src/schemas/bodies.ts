import { Type, type Static } from '@sinclair/typebox'
import { Ext, JsonObject, NumberLike } from './primitives.js'

// Message bodies (`payload.bodies[i]`). Only `type` and the field a body cannot exist
// without are required; everything else is optional because the docs disagree on it.

const Size = Type.Object({ width: Type.Optional(NumberLike), height: Type.Optional(NumberLike) })

const attachmentFields = {
  url: Type.Optional(Type.String()),
  filename: Type.Optional(Type.String()),
  secret: Type.Optional(Type.String()),
  file_length: Type.Optional(NumberLike)
}

export const TxtBody = Type.Object({ type: Type.Literal('txt'), msg: Type.String() })

export const ImgBody = Type.Object({
  type: Type.Literal('img'),
  ...attachmentFields,
  size: Type.Optional(Size)
})

export const AudioBody = Type.Object({
  type: Type.Literal('audio'),
  ...attachmentFields,
  length: Type.Optional(NumberLike)
})

export const VideoBody = Type.Object({
  type: Type.Literal('video'),
  ...attachmentFields,
  length: Type.Optional(NumberLike),
  size: Type.Optional(Size),
  thumb: Type.Optional(Type.String()),
  thumb_secret: Type.Optional(Type.String())
})

export const FileBody = Type.Object({ type: Type.Literal('file'), ...attachmentFields })

export const LocBody = Type.Object({
  type: Type.Literal('loc'),
  lat: NumberLike,
  lng: NumberLike,
  addr: Type.Optional(Type.String())
})

/** History and pre-send docs name the command `action`, post-send docs `msg`: accept either (docs/protocol.md#known-quirks). */
export const CmdBody = Type.Object({
  type: Type.Literal('cmd'),
  action: Type.Optional(Type.String()),
  msg: Type.Optional(Type.String())
})

export const CustomBody = Type.Object({
  type: Type.Literal('custom'),
  customEvent: Type.Optional(Type.String()),
  /** The legacy form, a list of one-key objects; a JSON-encoded string in some captures. */
  customExts: Type.Optional(Type.Union([Type.Array(JsonObject), Type.String()])),
  'v2:customExts': Type.Optional(Ext)
})

/** A merged message is a `txt` body with `subType: sub_combine`. */
export const CombineBody = Type.Object({
  type: Type.Literal('txt'),
  subType: Type.Literal('sub_combine'),
  ...attachmentFields,
  combineLevel: Type.Optional(NumberLike),
  summary: Type.Optional(Type.String()),
  title: Type.Optional(Type.String()),
  msg: Type.Optional(Type.String())
})

/** Any body, for places (edits, thread previews) that carry whatever type was sent. */
export const AnyBody = Type.Object({ type: Type.String() })

export type TxtBody = Static<typeof TxtBody>
export type ImgBody = Static<typeof ImgBody>
export type AudioBody = Static<typeof AudioBody>
export type VideoBody = Static<typeof VideoBody>
export type FileBody = Static<typeof FileBody>
export type LocBody = Static<typeof LocBody>
export type CmdBody = Static<typeof CmdBody>
export type CustomBody = Static<typeof CustomBody>
export type CombineBody = Static<typeof CombineBody>
