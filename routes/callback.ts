import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import { dispatcherOf } from '../plugins/dispatch.js'
import { classify } from '../src/classify.js'
import type { NormalisedOptions } from '../src/options.js'
import { replayClaim } from '../src/replay-key.js'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import { CallbackEnvelope, CallbackReply } from '../src/schemas/route.js'
import { startTrace } from '../src/trace.js'

const OK: CallbackReply = { status: 'ok' }
const DUPLICATE: CallbackReply = { status: 'duplicate' }
const STALE: CallbackReply = { status: 'stale' }

type Body = CallbackEnvelope & Record<string, unknown>

/**
 * `POST /`: post-send callbacks, signed (the signature plugin's hook has checked them). Each is
 * claimed once in the replay store, then handed to the handlers (or, with an outbox, written to it
 * for the handlers to run from after the answer), or to `onStale` when it is outside the
 * freshness window. If that fails the claim is released, so that Easemob's single retry is taken.
 */
const callbackRoute: FastifyPluginCallback<NormalisedOptions> = (fastify, options, done) => {
  const { maxAgeMs, maxFutureMs, replayStore, now, onStale, offlineFanOutLimit, outbox, outboxMode, sinks } = options
  const dispatcher = dispatcherOf(fastify)
  // Long enough that a replay is caught for as long as it could still pass as fresh (window inclusive).
  const memory = maxAgeMs + maxFutureMs + 1

  /**
   * Writes the callback to the outbox and the sinks, together; false when every one of them already
   * held it (they remember across restarts and replicas). Stale callbacks go to the outbox only.
   */
  async function keep (event: CallbackEvent, key: string, state: 'pending' | 'delivered' | 'quarantined'): Promise<boolean> {
    const writes: Array<Promise<boolean>> = []
    if (outbox !== undefined) writes.push(outbox.write(event, key, state))
    if (state !== 'quarantined') for (const sink of sinks) writes.push(sink.write(event, key))
    if (writes.length === 0) return true
    const taken = await Promise.all(writes)
    return taken.some(Boolean)
  }

  /** The handlers, inside the request; a record of the callback is taken back if they fail. */
  async function dispatchHere (event: CallbackEvent, key: string, request: FastifyRequest): Promise<void> {
    try {
      await dispatcher.dispatch(event, { log: request.log, attempt: 1, request })
    } catch (error) {
      await outbox?.forget(key)
      throw error
    }
  }

  fastify.post<{ Body: Body, Reply: CallbackReply }>('/', {
    bodyLimit: options.bodyLimit,
    schema: { body: CallbackEnvelope, response: { 200: CallbackReply } }
  }, async function receiveCallback (request) {
    const body = request.body
    const { kind, unrecognised } = classify(body)
    const event = body as unknown as CallbackEvent
    event.kind = kind
    if (unrecognised !== undefined) (event as CallbackEvent<'unknown'>).unrecognised = unrecognised
    const trace = startTrace(request, { callId: body.callId, kind, outcome: 'received', reason: unrecognised?.reason })

    const clock = now()
    const age = clock - Number(body.timestamp)
    const stale = age > maxAgeMs ? 'stale' : age < -maxFutureMs ? 'future' : undefined
    // Stale callbacks are remembered too, so that one captured callback cannot flood onStale; apart
    // from fresh ones, so that a stale copy does not use up the callId of the real callback.
    const claim = replayClaim(body, offlineFanOutLimit, stale === undefined ? '' : 'stale\u0000')
    if (!await replayStore.claim(claim.key, clock + memory, clock, claim.fanOut)) {
      trace.outcome = 'duplicate'
      return DUPLICATE
    }
    // Handlers run here unless the outbox delivers them after the answer.
    const inline = outbox === undefined || outboxMode === 'record'
    try {
      if (!await keep(event, claim.key, stale !== undefined ? 'quarantined' : inline ? 'delivered' : 'pending')) {
        trace.outcome = 'duplicate'
        return DUPLICATE
      }
      if (stale !== undefined) await onStale?.(event, request, stale)
      else if (inline) await dispatchHere(event, claim.key, request)
    } catch (error) {
      await replayStore.release(claim.key, claim.fanOut)
      throw error
    }
    trace.outcome = stale ?? (inline ? 'dispatched' : 'stored')
    return stale === undefined ? OK : STALE
  })
  done()
}

export default callbackRoute
