import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { ERR_INVALID_ENVELOPE } from './errors.js'
import { startTrace, traceOf } from './trace.js'

const MAX_MESSAGE = 300

function describeValidation (error: FastifyError): string {
  const first = error.validation?.[0]
  const path = first?.instancePath?.replace(/^\//, '').replaceAll('/', '.') || 'body'
  return `${path}: ${first?.message ?? 'is invalid'}`
}

/**
 * Turns every error of the plugin's routes into `{statusCode, code, error, message}` and notes it
 * on the request's trace for the log line. Messages are ours and short (Easemob treats a reply
 * over 1000 characters as an attack); a 5xx that is not one of ours says nothing about its cause.
 */
export function callbackErrorHandler (this: unknown, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const failure = error.validation !== undefined ? new ERR_INVALID_ENVELOPE(describeValidation(error)) : error
  const statusCode = failure.statusCode !== undefined && failure.statusCode >= 400 ? failure.statusCode : 500
  const ours = typeof failure.code === 'string' && failure.code.startsWith('FST_')
  const message = statusCode >= 500 && !ours ? 'internal error' : failure.message.slice(0, MAX_MESSAGE)
  const trace = traceOf(request)
  if (trace === null) {
    const callId = (request.body as { callId?: unknown } | undefined)?.callId
    startTrace(request, { callId: typeof callId === 'string' ? callId : undefined, kind: undefined, outcome: 'rejected', reason: failure.code })
  } else if (statusCode >= 500) {
    trace.outcome = 'failed'
    trace.reason = failure.code
    trace.error = error
  }
  reply.code(statusCode).send({
    statusCode,
    code: ours ? failure.code : 'FST_ERR_EASEMOB_INTERNAL',
    error: STATUS_CODES[statusCode] ?? 'Error',
    message
  })
}
