import type { FastifyPluginAsync } from 'fastify'
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
