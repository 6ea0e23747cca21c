// Shared by the tests: the repo's own samples, signed by our own helper, posted with app.inject.
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import easemobCallback, { CALLBACK_KINDS, type CallbackEvent, type CallbackHandlers, type EasemobCallbackOptions, signCallback } from '../../index.js'
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

// ---- Added for the feature tests: signed objects, handler recorders, captured logs. ----

/** Like `signed()`, but the signed object itself, for tests that then break it on purpose. */
export function signedBody (body: SampleBody, options: SignOptions = {}): SampleBody & { security: string } {
  return JSON.parse(signed(body, options)) as SampleBody & { security: string }
}

/** Every sample name (post_*, legacy_*, pre_send_* requests; the pre-send responses are left out). */
export function sampleNames (): string[] {
  return [...loadSamples().keys()]
}

export interface HandlerCall {
  /** The handler key that ran: a kind, `message` or `*`. */
  name: string
  event: CallbackEvent
}

export interface Recorder {
  calls: HandlerCall[]
  handlers: CallbackHandlers
  /** The handler keys that ran, in order. */
  names: () => string[]
  reset: () => void
}

/** Handlers for `names` (default: every kind, `message` and `*`) that record what they were given. */
export function recorder (names: readonly string[] = [...CALLBACK_KINDS, 'message', '*']): Recorder {
  const calls: HandlerCall[] = []
  const handlers: Record<string, (event: CallbackEvent) => void> = {}
  for (const name of names) handlers[name] = (event) => { calls.push({ name, event }) }
  return {
    calls,
    handlers: handlers as CallbackHandlers,
    names: () => calls.map(call => call.name),
    reset: () => { calls.length = 0 }
  }
}

export interface LogLine {
  level: number
  msg?: string
  callId?: string
  kind?: string
  outcome?: string
  reason?: string
  statusCode?: number
  [key: string]: unknown
}

export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const

export interface LogCapture {
  /** Give this to Fastify as `logger.stream`; pino writes one JSON line per call, synchronously. */
  stream: { write: (line: string) => void }
  lines: LogLine[]
  /** Everything logged so far, as written. */
  text: () => string
}

export function logCapture (): LogCapture {
  const raw: string[] = []
  const lines: LogLine[] = []
  return {
    stream: {
      write (line: string) {
        raw.push(line)
        lines.push(JSON.parse(line) as LogLine)
      }
    },
    lines,
    text: () => raw.join('')
  }
}

/** Like `build()`, but with a logging Fastify whose lines are captured. */
export async function buildLogged (
  options: EasemobCallbackOptions = {},
  server: Omit<FastifyServerOptions, 'logger'> = {},
  level = 'info'
): Promise<{ app: FastifyInstance, logs: LogCapture }> {
  const logs = logCapture()
  const app = Fastify({ ...server, logger: { level, stream: logs.stream } })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW, ...options })
  await app.ready()
  return { app, logs }
}

/** The reply body of a rejected callback, parsed. */
export interface ErrorReply {
  statusCode: number
  code: string
  error: string
  message: string
}
