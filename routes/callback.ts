import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import { dispatcherOf } from '../plugins/dispatch.js'
import { classify } from '../src/classify.js'
import type { NormalisedOptions } from '../src/options.js'
import { replayClaim } from '../src/replay-key.js'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import { CallbackEnvelope, CallbackReply } from '../src/schemas/route.js'
import { then, type MaybePromise, undoOnFailure } from '../src/thenable.js'
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

  // Handlers run in the request unless the outbox delivers them after the answer.
  const inline = outbox === undefined || outboxMode === 'record'

  /** Writes to every sink; false when all of them already held the callback. */
  async function toSinks (event: CallbackEvent, key: string): Promise<boolean> {
    const taken = await Promise.all(sinks.map(sink => sink.write(event, key)))
    return taken.some(Boolean)
  }

  /**
   * Takes a fresh callback the duplicate memory has not seen. With handlers run by the outbox,
   * the outbox and the sinks are written together. With handlers run here, the outbox records the
   * callback first (it remembers across restarts), the handlers run, then the sinks are written,
   * so that a handler's failure leaves nothing behind for Easemob's retry to trip on; what fails
   * after the handlers ran makes them run again on the retry (at least once). False: a duplicate.
   */
  function take (event: CallbackEvent, key: string, request: FastifyRequest): MaybePromise<boolean> {
    if (!inline) {
      return Promise.all([(outbox as NonNullable<typeof outbox>).write(event, key, 'pending'), toSinks(event, key)])
        .then(([kept, sent]) => kept || (sinks.length > 0 && sent))
    }
    const handle = (): MaybePromise<boolean> => undoOnFailure(
      // Every sink holding it already: another replica took it (the answer says so).
      () => then(dispatcher.dispatch(event, { log: request.log, attempt: 1, request }), () => sinks.length === 0 || toSinks(event, key)),
      () => outbox?.forget(key)
    )
    return outbox === undefined ? handle() : outbox.write(event, key, 'delivered').then(recorded => recorded && handle())
  }

  /** A stale callback: kept aside in the outbox (if any), and given to onStale only. */
  function quarantine (event: CallbackEvent, key: string, request: FastifyRequest, why: 'stale' | 'future'): MaybePromise<boolean> {
    const hand = (): MaybePromise<boolean> => then(onStale?.(event, request, why), () => true)
    return outbox === undefined ? hand() : outbox.write(event, key, 'quarantined').then(kept => kept && hand())
  }

  fastify.post<{ Body: Body, Reply: CallbackReply }>('/', {
    bodyLimit: options.bodyLimit,
    schema: { body: CallbackEnvelope, response: { 200: CallbackReply } }
  }, function receiveCallback (request): MaybePromise<CallbackReply> {
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
    const answer = (taken: boolean): CallbackReply => {
      trace.outcome = !taken ? 'duplicate' : stale ?? (inline ? 'dispatched' : 'stored')
      return !taken ? DUPLICATE : stale === undefined ? OK : STALE
    }
    return then(replayStore.claim(claim.key, clock + memory, clock, claim.fanOut), fresh => {
      if (!fresh) return answer(false)
      return then(undoOnFailure(
        () => stale === undefined ? take(event, claim.key, request) : quarantine(event, claim.key, request, stale),
        () => replayStore.release(claim.key, claim.fanOut)
      ), answer)
    })
  })
  done()
}

export default callbackRoute
