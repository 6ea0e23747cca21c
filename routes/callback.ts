import type { FastifyPluginCallback } from 'fastify'
import type { CallbackTrace } from '../src/augment.js'
import { classify } from '../src/classify.js'
import type { NormalisedOptions } from '../src/options.js'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import { CallbackEnvelope, CallbackReply } from '../src/schemas/route.js'

const OK: CallbackReply = { status: 'ok' }
const DUPLICATE: CallbackReply = { status: 'duplicate' }
const STALE: CallbackReply = { status: 'stale' }

type Body = CallbackEnvelope & Record<string, unknown>

/**
 * The replay key. Easemob sends one `chat_offline` callback per offline member and does not say
 * whether they share a callId, so those are told apart by recipient; never losing one is worth the
 * slightly wider replay surface (spec §6.5).
 */
function replayKey (body: Body): string {
  return body.eventType === 'chat_offline' && typeof body.to === 'string' ? `${body.callId}\u0000${body.to}` : body.callId
}

/** `POST /`: post-send callbacks. Signature has been checked by the time the handler runs. */
const callbackRoute: FastifyPluginCallback<NormalisedOptions> = (fastify, options, done) => {
  const { maxAgeMs, maxFutureMs, replayStore, now, onStale } = options
  // Long enough that a replay is caught for as long as it could still pass as fresh (window inclusive).
  const memory = maxAgeMs + maxFutureMs + 1

  fastify.post<{ Body: Body, Reply: CallbackReply }>('/', {
    bodyLimit: options.bodyLimit,
    schema: { body: CallbackEnvelope, response: { 200: CallbackReply } }
  }, async function receiveCallback (request) {
    const body = request.body
    const { kind, reason } = classify(body)
    const trace: CallbackTrace = { callId: body.callId, kind, outcome: 'received', reason }
    request.easemobTrace = trace
    const event = body as unknown as CallbackEvent
    event.kind = kind

    const clock = now()
    const age = clock - Number(body.timestamp)
    if (age > maxAgeMs || age < -maxFutureMs) {
      const why = age > maxAgeMs ? 'stale' : 'future'
      trace.outcome = why
      if (onStale !== undefined) await onStale(event, request, why)
      return STALE
    }

    const key = replayKey(body)
    if (!await replayStore.claim(key, clock + memory, clock)) {
      trace.outcome = 'duplicate'
      return DUPLICATE
    }
    try {
      await fastify.easemobDispatcher.dispatch(event, request)
    } catch (error) {
      // Forget the callId so that Easemob's single retry is dispatched, not dropped as a duplicate.
      await replayStore.release(key)
      throw error
    }
    trace.outcome = 'dispatched'
    return OK
  })
  done()
}

export default callbackRoute
