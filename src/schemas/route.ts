import { Type, type Static } from '@sinclair/typebox'
import { envelopeFields, StringEnum } from './primitives.js'

/**
 * What the route itself validates before the signature check: the three signed fields. The shape
 * of the rest is the kind's business (see classify), so that a signed callback of an unexpected
 * shape is still taken instead of bouncing off the route.
 */
export const CallbackEnvelope = Type.Object(envelopeFields, {
  errorMessage: 'must be a JSON object with callId, timestamp and security'
})

export type CallbackEnvelope = Static<typeof CallbackEnvelope>

/** The 200 answer; Easemob ignores the body but fails any over 1000 characters. */
export const CallbackReply = Type.Object({
  status: StringEnum(['ok', 'duplicate', 'stale'])
})

export type CallbackReply = Static<typeof CallbackReply>
