import type { FastifyPluginCallback, preHandlerHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { ERR_SIGNATURE_MALFORMED, ERR_SIGNATURE_MISMATCH, ERR_SIGNATURE_MISSING } from '../src/errors.js'
import type { CallbackEnvelope } from '../src/schemas/route.js'
import { checkSecurity } from '../src/signature.js'

export interface SignaturePluginOptions {
  secrets: readonly string[]
  insecureSkipSignature: boolean
}

/**
 * Checks `security = md5(callId + secret + timestamp)` for every route of the plugin, as a
 * preHandler hook: it runs after the route's envelope schema (so the three fields are there) and
 * before the handler, and no route can forget it. A callback that fails is answered 401.
 */
const signature: FastifyPluginCallback<SignaturePluginOptions> = (fastify, options, done) => {
  const { secrets, insecureSkipSignature } = options
  if (insecureSkipSignature) {
    fastify.log.error('INSECURE: Easemob callback signatures are NOT checked; anyone can forge callbacks. Never run this way in production.')
    return done()
  }
  const verifySignature: preHandlerHookHandler = (request, _reply, next) => {
    const { callId, timestamp, security } = (request.body ?? {}) as Partial<CallbackEnvelope>
    // A route without the envelope schema would bring no fields: refused, never waved through.
    if (security === undefined || callId === undefined || timestamp === undefined) return next(new ERR_SIGNATURE_MISSING())
    const result = checkSecurity(security, callId, timestamp, secrets)
    if (result === 'ok') return next()
    next(result === 'malformed' ? new ERR_SIGNATURE_MALFORMED() : new ERR_SIGNATURE_MISMATCH())
  }
  fastify.addHook('preHandler', verifySignature)
  done()
}

export default fp(signature, { name: 'easemob-signature', fastify: '5.x' })
