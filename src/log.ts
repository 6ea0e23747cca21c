import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CallbackTrace } from './augment.js'

/**
 * The one log line per callback: callId, kind and outcome, never message content. Written by the
 * routes and the error handler as they answer, rather than from an onResponse hook, which would
 * cost every callback another trip through Fastify's hook runner.
 */
export function logCallback (request: FastifyRequest, reply: FastifyReply, statusCode: number, trace: CallbackTrace): void {
  const notTaken = trace.outcome === 'stale' || trace.outcome === 'future' || trace.outcome === 'fallback'
  const level = statusCode >= 500 ? 'error' : statusCode >= 400 || notTaken ? 'warn' : 'info'
  // pino can say whether the level is on; skip building the line when it is not.
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
