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
  async function take (event: CallbackEvent, key: string, request: FastifyRequest): Promise<boolean> {
    if (!inline) {
      const [kept, sent] = await Promise.all([(outbox as NonNullable<typeof outbox>).write(event, key, 'pending'), toSinks(event, key)])
      return kept || (sinks.length > 0 && sent)
    }
    if (outbox !== undefined && !await outbox.write(event, key, 'delivered')) return false
    try {
      await dispatcher.dispatch(event, { log: request.log, attempt: 1, request })
      // Every sink holding it already: another replica took it (the answer says so).
      return sinks.length === 0 || await toSinks(event, key)
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
    try {
      if (stale !== undefined) {
        // Kept aside in the outbox (if any), and given to onStale only.
        if (outbox !== undefined && !await outbox.write(event, claim.key, 'quarantined')) {
          trace.outcome = 'duplicate'
          return DUPLICATE
        }
        await onStale?.(event, request, stale)
      } else if (!await take(event, claim.key, request)) {
        trace.outcome = 'duplicate'
        return DUPLICATE
      }
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
