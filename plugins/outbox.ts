import type { FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import type { Outbox } from '../src/outbox/outbox.js'
import { dispatcherOf } from './dispatch.js'

export interface OutboxPluginOptions {
  outbox: Outbox
  /** How long the handlers under way may finish when the app closes, in ms. */
  closeTimeoutMs: number
}

/**
 * Puts the outbox between Easemob and the handlers: the routes write each callback to it before
 * answering, and from the moment the app is ready the handlers run from it, with retries. Closing
 * the app stops the deliveries and closes the file.
 */
const outboxPlugin: FastifyPluginCallback<OutboxPluginOptions> = (fastify, { outbox, closeTimeoutMs }, done) => {
  const dispatcher = dispatcherOf(fastify)
  fastify.addHook('onReady', async () => {
    outbox.start(async (pending, attempt) => {
      const log = fastify.log.child({ callId: pending.callId })
      await dispatcher.dispatch(pending.event as CallbackEvent, { log, attempt }, outbox.attemptTimeoutMs)
    }, fastify.log)
  })
  fastify.addHook('onClose', async () => { await outbox.close(closeTimeoutMs) })
  done()
}

export default fp(outboxPlugin, { name: 'easemob-outbox', fastify: '5.x', dependencies: ['easemob-dispatch'] })
