import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import type { CallbackTrace } from '../src/augment.js'
import { classify } from '../src/classify.js'
import { logCallback } from '../src/log.js'
import type { NormalisedOptions } from '../src/options.js'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import { CallbackEnvelope, CallbackReply } from '../src/schemas/route.js'
import { isThenable } from '../src/thenable.js'

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

/**
 * `POST /`: post-send callbacks. The signature is checked first; a callback that fails it throws
 * (401) before anything else looks at it.
 * The handler stays synchronous while the store, the handlers and `onStale` are: no promise and no
 * microtask per callback on the common path.
 */
const callbackRoute: FastifyPluginCallback<NormalisedOptions> = (fastify, options, done) => {
  const { maxAgeMs, maxFutureMs, replayStore, now, onStale } = options
  const dispatcher = fastify.easemobDispatcher
  const verifySignature = fastify.easemobVerifySignature
  // Long enough that a replay is caught for as long as it could still pass as fresh (window inclusive).
  const memory = maxAgeMs + maxFutureMs + 1

  function answer (request: FastifyRequest, reply: FastifyReply, trace: CallbackTrace, outcome: string, result: CallbackReply): CallbackReply {
    trace.outcome = outcome
    logCallback(request, reply, 200, trace)
    return result
  }

  function dispatch (event: CallbackEvent, key: string, request: FastifyRequest, reply: FastifyReply, trace: CallbackTrace): CallbackReply | Promise<CallbackReply> {
    const pending = dispatcher.dispatch(event, request)
    if (pending === undefined) return answer(request, reply, trace, 'dispatched', OK)
    return pending.then(() => answer(request, reply, trace, 'dispatched', OK), async (error: unknown) => {
      // Forget the callId so that Easemob's single retry is dispatched, not dropped as a duplicate.
      await replayStore.release(key)
      throw error
    })
  }

  fastify.post<{ Body: Body, Reply: CallbackReply }>('/', {
    bodyLimit: options.bodyLimit,
    schema: { body: CallbackEnvelope, response: { 200: CallbackReply } }
  }, function receiveCallback (request, reply) {
    const body = request.body
    verifySignature(body)
    const { kind, reason } = classify(body)
    const trace: CallbackTrace = { callId: body.callId, kind, outcome: 'received', reason }
    request.easemobTrace = trace
    const event = body as unknown as CallbackEvent
    event.kind = kind

    const clock = now()
    const age = clock - Number(body.timestamp)
    if (age > maxAgeMs || age < -maxFutureMs) {
      const why = age > maxAgeMs ? 'stale' : 'future'
      const quarantined = onStale === undefined ? undefined : onStale(event, request, why)
      if (isThenable(quarantined)) return Promise.resolve(quarantined).then(() => answer(request, reply, trace, why, STALE))
      return answer(request, reply, trace, why, STALE)
    }

    const key = replayKey(body)
    const claimed = replayStore.claim(key, clock + memory, clock)
    if (isThenable(claimed)) {
      return Promise.resolve(claimed).then(fresh => fresh ? dispatch(event, key, request, reply, trace) : answer(request, reply, trace, 'duplicate', DUPLICATE))
    }
    return claimed ? dispatch(event, key, request, reply, trace) : answer(request, reply, trace, 'duplicate', DUPLICATE)
  })
  done()
}

export default callbackRoute
