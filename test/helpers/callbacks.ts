// Shared by the tests: the repo's own samples, signed by our own helper, posted with app.inject.
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import easemobCallback, { type EasemobCallbackOptions, signCallback } from '../../src/index.js'
import { loadSamples, type SampleBody } from '../../src/samples.js'

export const SECRET = 'test-secret'
/** The tests' clock: every sample is re-stamped to it unless a test says otherwise. */
export const NOW = 1_800_000_000_000

/** A deep copy of a sample from `samples/`, by file name without `.json`. */
export function sample (name: string): SampleBody {
  const found = loadSamples().get(name)
  if (found === undefined) throw new Error(`no sample ${name}`)
  return structuredClone(found)
}

export interface SignOptions {
  secret?: string
  timestamp?: number | string
  callId?: string
}

/** The JSON text of `body`, re-stamped (default NOW) and signed (default SECRET). */
export function signed (body: SampleBody, options: SignOptions = {}): string {
  const withId = options.callId === undefined ? body : { ...body, callId: options.callId }
  return JSON.stringify(signCallback(withId, options.secret ?? SECRET, options.timestamp ?? NOW))
}

export function post (app: FastifyInstance, payload: string, url = '/', contentType = 'application/json'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } })
}

/** A bare Fastify app with the plugin at the root, a fixed clock and the test secret. */
export async function build (options: EasemobCallbackOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, ...options })
  await app.ready()
  return app
}
