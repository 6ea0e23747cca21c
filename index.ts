import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import dispatchPlugin from './plugins/dispatch.js'
import outboxPlugin from './plugins/outbox.js'
import signaturePlugin from './plugins/signature.js'
import callbackRoute from './routes/callback.js'
import preSendRoute from './routes/pre-send.js'
import { callbackErrorHandler } from './src/error-handler.js'
import { useJsonParser } from './src/json-parser.js'
import { type EasemobCallbackOptions, normaliseOptions } from './src/options.js'
import { CALLBACK_KINDS } from './src/schemas/kinds.js'
import { CallbackMetrics } from './src/metrics.js'
import { logCallback, TRACE_DECORATOR, traceOf } from './src/trace.js'
import { typeboxValidatorCompiler } from './src/validator.js'

/**
 * Receives Easemob post-send callbacks at `POST {prefix}/` and, with `preSend`, pre-send ones at
 * `POST {prefix}/pre-send`. Encapsulated: its parser, validator, hooks and error handler apply to
 * its own routes only. A request goes through, in order: the JSON parser, the route's envelope
 * schema, the signature plugin's hook, the route (which hands callbacks to the dispatch plugin's
 * handlers, or with an outbox writes them for the outbox plugin to deliver), and the onResponse
 * hook that writes its one log line.
 */
const easemobCallback: FastifyPluginAsync<EasemobCallbackOptions> = async (fastify, options) => {
  const config = normaliseOptions(options, CALLBACK_KINDS)

  fastify.setValidatorCompiler(typeboxValidatorCompiler)
  fastify.setErrorHandler(callbackErrorHandler)
  useJsonParser(fastify)
  fastify.decorateRequest(TRACE_DECORATOR, null)
  const metrics = config.metrics === undefined ? undefined : new CallbackMetrics(config.metrics)
  fastify.addHook('onResponse', (request, reply, done) => {
    logCallback(request, reply)
    metrics?.observe(request, reply, traceOf(request))
    done()
  })
  if (metrics !== undefined && config.outbox !== undefined) metrics.watch(config.outbox)
  const store = config.replayStore
  fastify.addHook('onClose', async () => {
    await store.close?.()
    await Promise.all(config.sinks.map(async sink => { await sink.close() }))
  })

  await fastify.register(signaturePlugin, { secrets: config.secrets, insecureSkipSignature: config.insecureSkipSignature })
  await fastify.register(dispatchPlugin, {
    handlers: config.handlers,
    handlerTimeoutMs: config.handlerTimeoutMs,
    onHandled: metrics === undefined ? undefined : (kind, seconds) => { metrics.handled(kind, seconds) }
  })
  if (config.outbox !== undefined) await fastify.register(outboxPlugin, { outbox: config.outbox, closeTimeoutMs: config.handlerTimeoutMs })
  await fastify.register(callbackRoute, config)
  if (config.preSend !== undefined) await fastify.register(preSendRoute, config)
}

const plugin = fp(easemobCallback, { name: 'fastify-easemob-callback', fastify: '5.x', encapsulate: true })

export default plugin
export { plugin as easemobCallback }
export type { CallbackContext, CallbackHandler, CallbackHandlers, EasemobCallbackOptions, PreSendHandler, StaleReason } from './src/options.js'
export { Outbox, type OutboxOptions } from './src/outbox/outbox.js'
export type { RowState, StoredRow } from './src/outbox/database.js'
export type { CallbackEvent, CallbackKind, MessageEvent, MessageKind, Unrecognised, UnrecognisedMessageEvent } from './src/schemas/kinds.js'
export { CALLBACK_KINDS, MESSAGE_KINDS, callbackSchemas } from './src/schemas/kinds.js'
export type { PreSendBody, PreSendDecision, PreSendKind, PreSendMessage, PreSendReply, PreSendRequest } from './src/schemas/pre-send.js'
export { bodiesOf, bodyKind, chatTypeOf, extOf, isBodiesPayload, rewritePayload, type ChatType } from './src/pre-send/message.js'
export { computeSecurity, signCallback, checkSecurity } from './src/signature.js'
export type { FanOut, ReplayStore } from './src/store/types.js'
export type { CallbackSink } from './src/sinks/types.js'
export { MemoryReplayStore } from './src/store/memory.js'
export * from './src/errors.js'
export { loadSamples, restamp, type RestampOptions, type SampleBody } from './src/samples.js'
export { redisClient, checkRedisUrl } from './src/redis-client.js'
export { RedisReplayStore, type RedisReplayStoreOptions } from './src/store/redis.js'
export { RedisStreamSink, type RedisStreamSinkOptions } from './src/sinks/redis-stream.js'
export { RedisSharedDecisions, type RedisSharedDecisionsOptions } from './src/pre-send/redis-decisions.js'
export { JetStreamSink, type JetStreamSinkOptions } from './src/sinks/jetstream.js'
export type { SharedDecisions } from './src/pre-send/shared-decisions.js'
export type { MetricsOptions } from './src/metrics.js'
export { loadRulesPolicy, compileRulesText, RulesFileError, type RulesPolicy } from './src/pre-send/rules/index.js'
