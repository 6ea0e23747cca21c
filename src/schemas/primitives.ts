import { Type, type TUnsafe } from '@sinclair/typebox'

// Building blocks shared by every callback schema. Objects stay open (extra fields allowed) because
// Easemob adds fields over time and a real callback must never be turned away for one (docs/protocol.md#known-quirks).

/** Easemob sends some numbers as strings (`max_users`, `created`, offline-push `timestamp`): docs/protocol.md#known-quirks. */
export const NumberLike = Type.Union([Type.Number(), Type.String()])

/** Booleans sent as `"true"`/`"false"` in group info. */
export const BooleanLike = Type.Union([Type.Boolean(), Type.String()])

/** Milliseconds since the epoch; a number in practice, a digit string in some docs. */
export const Timestamp = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.String({ pattern: '^\\s*[0-9]{1,16}\\s*$' })
], { errorMessage: 'must be milliseconds since the epoch, as a number or a digit string' })

/** Message ids are 18–19 digit strings; one doc table calls them Long, so numbers are let through. */
export const MessageId = Type.Union([Type.String(), Type.Number()])

/**
 * Any JSON object; what is inside is the sender's business. Checked as "an object" only: as a
 * `Type.Record(Type.String(), Type.Unknown())` the compiled check would copy the object into
 * entries and test every key against a pattern that always matches (a third of a message's check).
 */
export const JsonObject = Type.Unsafe<Record<string, unknown>>(Type.Object({}))

/**
 * A string that is one of `values` (JSON Schema `enum`), typed as the union of them: TypeBox's own
 * idiom for string enums. For response schemas: fast-json-stringify writes it as a plain string,
 * where a union of literals (`anyOf`) makes it run an Ajv validator per candidate on every reply.
 */
export function StringEnum<T extends string[]> (values: [...T]): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>(Type.String({ enum: values }))
}

/**
 * A field Easemob documents as an object but has also sent as a string, often JSON-encoded (legacy
 * `muc` and roster `reason`, metadata `event_info.ext`): both are taken, as sent.
 */
export const ObjectOrString = Type.Union([JsonObject, Type.String()])

/** `payload.ext`: the attributes the sending app chose; an object, or JSON text in some captures. */
export const Ext = ObjectOrString

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
