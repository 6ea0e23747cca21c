// Every type this package adds to Fastify, in one place. At run time these exist only inside the
// plugin's own encapsulated context.
import type { CallbackKind } from './schemas/kinds.js'

/** What the per-callback log line reports; filled in as the request goes through the route. */
export interface CallbackTrace {
  callId: string | undefined
  kind: CallbackKind | undefined
  /** dispatched | duplicate | stale | future | failed | rejected */
  outcome: string
  /** Why an `unknown` callback was not recognised. */
  reason?: string
  error?: unknown
}

export interface CallbackDispatcher {
  /** Runs the handlers for `event.kind`, then `message`, then `*`; rejects with the first failure. */
  dispatch (event: { kind: CallbackKind }, request: import('fastify').FastifyRequest): Promise<void> | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    easemobDispatcher: CallbackDispatcher
  }
  interface FastifyRequest {
    easemobTrace: CallbackTrace | null
  }
}
