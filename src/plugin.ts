import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import dispatchPlugin from '../plugins/dispatch.js'
import signaturePlugin from '../plugins/signature.js'
import callbackRoute from '../routes/callback.js'
import preSendRoute from '../routes/pre-send.js'
import './augment.js'
import { callbackErrorHandler } from './error-handler.js'
import { useJsonParser } from './json-parser.js'
import { type EasemobCallbackOptions, normaliseOptions } from './options.js'
import { CALLBACK_KINDS } from './schemas/kinds.js'
import { typeboxValidatorCompiler } from './validator.js'

/** One log line per callback: callId, kind and outcome, never message content. */
function logCallback (request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const trace = request.easemobTrace
  const line = {
    callId: trace?.callId,
    kind: trace?.kind,
    outcome: trace?.outcome ?? 'rejected',
    rule: trace?.rule,
    reason: trace?.reason,
    statusCode: reply.statusCode,
    ms: Math.round(reply.elapsedTime * 100) / 100,
    err: trace?.error
  }
  if (reply.statusCode >= 500) request.log.error(line, 'easemob callback failed')
  else if (reply.statusCode >= 400 || line.outcome === 'stale' || line.outcome === 'future' || line.outcome === 'fallback') request.log.warn(line, 'easemob callback not taken')
  else request.log.info(line, 'easemob callback')
  done()
}

/**
 * Receives Easemob post-send callbacks at `POST {prefix}/` and, with `preSend`, pre-send ones at
 * `POST {prefix}/pre-send`. Encapsulated: its parser, validator,
 * hooks and error handler apply to its own routes only.
 */
const easemobCallback: FastifyPluginAsync<EasemobCallbackOptions> = async (fastify, options) => {
  const config = normaliseOptions(options, CALLBACK_KINDS)

  fastify.setValidatorCompiler(typeboxValidatorCompiler)
  fastify.setErrorHandler(callbackErrorHandler)
  useJsonParser(fastify)
  fastify.decorateRequest('easemobTrace', null)
  fastify.addHook('onResponse', logCallback)
  if (config.replayStore.close !== undefined) {
    const store = config.replayStore
    fastify.addHook('onClose', async () => { await store.close?.() })
  }

  await fastify.register(signaturePlugin, { secrets: config.secrets, insecureSkipSignature: config.insecureSkipSignature })
  await fastify.register(dispatchPlugin, { handlers: config.handlers })
  await fastify.register(callbackRoute, config)
  if (config.preSend !== undefined) await fastify.register(preSendRoute, config)
}

export default fp(easemobCallback, { name: 'fastify-easemob-callback', fastify: '5.x', encapsulate: true })
