// Every type this package adds to Fastify, in one place. At run time these exist only inside the
// plugin's own encapsulated context.

/** What the per-callback log line reports; filled in as the request goes through the route. */
export interface CallbackTrace {
  callId: string | undefined
  /** A handler kind for post-send callbacks; `pre-send:{kind}` for pre-send ones. */
  kind: string | undefined
  /** post-send: dispatched | duplicate | stale | future | failed | rejected; pre-send: pass | block | rewrite | fallback | duplicate */
  outcome: string
  /** The pre-send rule that decided, when the policy names one. */
  rule?: string
  /** Why an `unknown` callback was not recognised. */
  reason?: string
  error?: unknown
}

export interface CallbackDispatcher {
  /** Runs the handlers for `event.kind`, then `message`, then `*`; rejects with the first failure. */
  dispatch (event: { kind: import('./schemas/kinds.js').CallbackKind }, request: import('fastify').FastifyRequest): Promise<void> | undefined
}

/**
 * Throws FST_ERR_EASEMOB_SIGNATURE_MISSING / _MALFORMED / _MISMATCH (401) unless the callback is
 * signed by a configured secret. Takes the envelope the route schema has already checked.
 */
export type SignatureVerifier = (body: import('./schemas/route.js').CallbackEnvelope) => void

declare module 'fastify' {
  interface FastifyInstance {
    easemobDispatcher: CallbackDispatcher
    easemobVerifySignature: SignatureVerifier
  }
  interface FastifyRequest {
    easemobTrace: CallbackTrace | null
  }
}
