import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERR_SIGNATURE_MALFORMED, ERR_SIGNATURE_MISMATCH, ERR_SIGNATURE_MISSING } from '../src/errors.js'
import { checkSecurity } from '../src/signature.js'

export interface SignaturePluginOptions {
  secrets: readonly string[]
  insecureSkipSignature: boolean
}

interface SignedBody {
  callId: string
  timestamp: number | string
  security?: string
}

/**
 * Verifies `security = md5(callId + secret + timestamp)` on every route of the context it is
 * registered in, after the envelope schema has run (so the three fields are known to be there) and
 * before any handler sees the callback.
 */
const signature: FastifyPluginCallback<SignaturePluginOptions> = (fastify, options, done) => {
  const { secrets, insecureSkipSignature } = options
  if (insecureSkipSignature) {
    fastify.log.error('INSECURE: Easemob callback signatures are NOT checked; anyone can forge callbacks. Never run this way in production.')
    return done()
  }
  fastify.addHook('preHandler', (request: FastifyRequest, _reply, next) => {
    const { callId, timestamp, security } = request.body as SignedBody
    if (security === undefined) return next(new ERR_SIGNATURE_MISSING())
    const result = checkSecurity(security, callId, timestamp, secrets)
    if (result === 'ok') return next()
    next(result === 'malformed' ? new ERR_SIGNATURE_MALFORMED() : new ERR_SIGNATURE_MISMATCH())
  })
  done()
}

export default fp(signature, { name: 'easemob-signature', fastify: '5.x' })
