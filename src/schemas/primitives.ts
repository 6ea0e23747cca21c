import { Type } from '@sinclair/typebox'

// Building blocks shared by every callback schema. Objects stay open (extra fields allowed) because
// Easemob adds fields over time and a real callback must never be turned away for one (spec §7).

/** Easemob sends some numbers as strings (`max_users`, `created`, offline-push `timestamp`): spec §7.6. */
export const NumberLike = Type.Union([Type.Number(), Type.String()])

/** Booleans sent as `"true"`/`"false"` in group info (spec §5.9). */
export const BooleanLike = Type.Union([Type.Boolean(), Type.String()])

/** Milliseconds since the epoch; a number in practice, a digit string in some docs. */
export const Timestamp = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.String({ pattern: '^\\s*[0-9]{1,16}\\s*$' })
], { errorMessage: 'must be milliseconds since the epoch, as a number or a digit string' })

/** Message ids are 18–19 digit strings; one doc table calls them Long, so numbers are let through. */
export const MessageId = Type.Union([Type.String(), Type.Number()])

/** `payload.ext`: any JSON the sending app chose. */
export const Ext = Type.Record(Type.String(), Type.Unknown())

export const StringList = Type.Array(Type.String())

/** Fields every signed callback carries; the route validates these before the signature check. */
export const envelopeFields = {
  callId: Type.String({ minLength: 1, maxLength: 512, errorMessage: 'must be a non-empty string of at most 512 characters' }),
  timestamp: Timestamp,
  security: Type.Optional(Type.String({ maxLength: 256, errorMessage: 'must be a string' }))
}

/** Fields Easemob adds to most envelopes; informative only, so never required. */
export const serverFields = {
  appkey: Type.Optional(Type.String()),
  host: Type.Optional(Type.String()),
  securityVersion: Type.Optional(Type.String())
}
