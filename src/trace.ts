import type { FastifyReply, FastifyRequest } from 'fastify'

/** What the per-callback log line reports; filled in as the request goes through the plugin. */
export interface CallbackTrace {
  callId: string | undefined
  /** A handler kind for post-send callbacks; `pre-send:{kind}` for pre-send ones. */
  kind: string | undefined
  /** post-send: dispatched | duplicate | stale | future | failed | rejected; pre-send: pass | block | rewrite | fallback | duplicate */
  outcome: string
  /** The pre-send rule that decided, when the policy names one. */
  rule?: string
  /** Why a callback was not recognised, refused or answered with the fallback. */
  reason?: string
  error?: unknown
}

// The trace rides on the request as a decorator of the plugin's own context. It is reached
// through these two functions rather than by augmenting Fastify's types, so that a host app's
// FastifyRequest does not gain a property that exists only inside the plugin.
const TRACE = 'easemobTrace'
type Traced = FastifyRequest & { [TRACE]: CallbackTrace | null }

export const TRACE_DECORATOR = TRACE

export function traceOf (request: FastifyRequest): CallbackTrace | null {
  return (request as Traced)[TRACE]
}

export function startTrace (request: FastifyRequest, trace: CallbackTrace): CallbackTrace {
  (request as Traced)[TRACE] = trace
  return trace
}

const NOT_TAKEN = new Set(['stale', 'future', 'fallback'])

/**
 * The one log line per callback, written by the plugin's onResponse hook: callId, kind and
 * outcome, never message content. Requests refused before the route ran (bad JSON, wrong media
 * type, too large) have no trace of their own and are logged as rejected.
 */
export function logCallback (request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = reply.statusCode
  const trace = traceOf(request) ?? { callId: undefined, kind: undefined, outcome: statusCode >= 500 ? 'failed' : 'rejected' }
  if (trace.outcome === 'received') trace.outcome = statusCode >= 500 ? 'failed' : statusCode >= 400 ? 'rejected' : trace.outcome
  const level = statusCode >= 500 ? 'error' : statusCode >= 400 || NOT_TAKEN.has(trace.outcome) ? 'warn' : 'info'
  // pino says whether the level is on; skip building the line when it is not.
  if ((request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.(level) === false) return
  request.log[level]({
    callId: trace.callId,
    kind: trace.kind,
    outcome: trace.outcome,
    rule: trace.rule,
    reason: trace.reason,
    statusCode,
    ms: Math.round(reply.elapsedTime * 100) / 100,
    err: trace.error
  }, statusCode >= 500 ? 'easemob callback failed' : level === 'warn' ? 'easemob callback not taken' : 'easemob callback')
}
