import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyBaseLogger, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import { ERR_BAD_OPTION } from '../src/errors.js'
import type { NormalisedOptions, PreSendHandler } from '../src/options.js'
import { bodiesOf, bodyKind } from '../src/pre-send/message.js'
import { MAX_REPLY_CHARS, PreSendReply, PreSendRequest, type PreSendDecision, type PreSendMessage } from '../src/schemas/pre-send.js'
import { CallbackEnvelope } from '../src/schemas/route.js'
import { BoundedExpiringMap } from '../src/store/bounded-map.js'
import { isThenable } from '../src/thenable.js'
import { startTrace } from '../src/trace.js'

const checkRequest = TypeCompiler.Compile(PreSendRequest)
const checkReply = TypeCompiler.Compile(PreSendReply)

type Verdict = { reply: string, outcome: string, rule?: string, reason?: string }

/** Easemob's reply and nothing else: only its four fields, only when set, checked and measured. */
function toReply (decision: PreSendDecision): string | string[] {
  if (typeof decision !== 'object' || decision === null) return [`decision must be an object like {"valid": true}, got ${String(decision)}`]
  const reply: Record<string, unknown> = { valid: decision.valid }
  if (decision.code !== undefined) reply.code = decision.code
  if (decision.payload !== undefined) reply.payload = decision.payload
  if (decision.chatroom_msg_level !== undefined) reply.chatroom_msg_level = decision.chatroom_msg_level
  if (!checkReply.Check(reply)) {
    const error = checkReply.Errors(reply).First()
    return [`decision does not fit Easemob's reply: ${error?.path || '/'} ${error?.message ?? ''}`.trim()]
  }
  const text = JSON.stringify(reply)
  return text.length > MAX_REPLY_CHARS ? [`reply would be ${text.length} characters; Easemob allows ${MAX_REPLY_CHARS}`] : text
}

function outcomeOf (decision: PreSendDecision): string {
  return !decision.valid ? 'block' : decision.payload !== undefined ? 'rewrite' : 'pass'
}

/**
 * Runs the policy within the budget. A sync decision is used at once; an async one races a timer,
 * and one that loses is logged when it finally arrives and otherwise ignored.
 */
function decide (
  preSend: PreSendHandler, message: PreSendMessage, request: FastifyRequest, budgetMs: number, fallback: Verdict
): Verdict | Promise<Verdict> {
  const settle = (decision: PreSendDecision): Verdict => {
    const reply = toReply(decision)
    if (typeof reply === 'string') return { reply, outcome: outcomeOf(decision), rule: decision.rule }
    return { ...fallback, reason: reply[0] }
  }
  const failed = (error: unknown): Verdict => {
    request.log.error({ callId: message.callId, err: error }, 'pre-send policy threw; fallback sent')
    return { ...fallback, reason: 'policy threw' }
  }
  let result: PreSendDecision | Promise<PreSendDecision>
  try {
    result = preSend(message, request)
  } catch (error) {
    return failed(error)
  }
  if (!isThenable(result)) return settle(result)
  return new Promise<Verdict>(resolve => {
    let late = false
    const timer = setTimeout(() => {
      late = true
      resolve({ ...fallback, reason: `no decision within ${budgetMs} ms` })
    }, budgetMs)
    Promise.resolve(result).then(decision => {
      if (late) return lateDecision(request.log, message.callId, outcomeOf(decision))
      clearTimeout(timer)
      resolve(settle(decision))
    }, error => {
      if (late) return lateDecision(request.log, message.callId, 'error')
      clearTimeout(timer)
      resolve(failed(error))
    })
  })
}

function lateDecision (log: FastifyBaseLogger, callId: string, outcome: string): void {
  log.warn({ callId, outcome }, 'pre-send decision arrived after the budget and was dropped')
}

/**
 * `POST /pre-send`: Easemob asks whether to deliver a message. Always answered 200 with a reply
 * Easemob understands, except when the signature fails (401, like post-send): whatever goes wrong
 * after that becomes the configured fallback decision, which is what Easemob would apply anyway.
 */
const preSendRoute: FastifyPluginCallback<NormalisedOptions> = (fastify, options, done) => {
  const preSend = options.preSend as PreSendHandler
  const { now, maxAgeMs, maxFutureMs, preSendBudgetMs } = options
  const fallbackReply = toReply(options.preSendFallback)
  if (typeof fallbackReply !== 'string') return done(new ERR_BAD_OPTION('preSendFallback', fallbackReply[0]))
  const fallback: Verdict = { reply: fallbackReply, outcome: 'fallback' }
  // The first reply to each callId, kept as long as a replay of it could still pass as fresh. A
  // pending reply is shared: a replay that arrives while the first is being decided waits for it.
  const cache = new BoundedExpiringMap<Promise<string>>({ maxEntries: options.preSendCacheEntries })
  const memory = maxAgeMs + maxFutureMs + 1

  const answer = (reply: FastifyReply, text: string): FastifyReply => reply.type('application/json; charset=utf-8').send(text)

  fastify.post<{ Body: CallbackEnvelope & Record<string, unknown> }>('/pre-send', {
    bodyLimit: options.bodyLimit,
    schema: { body: CallbackEnvelope }
  }, function receivePreSend (request, reply) {
    const body = request.body
    const trace = startTrace(request, { callId: body.callId, kind: 'pre-send', outcome: 'received' })
    const clock = now()

    const previous = cache.get(body.callId, clock)
    if (previous !== undefined) {
      trace.outcome = 'duplicate'
      return previous.then(text => answer(reply, text))
    }

    let verdict: Verdict | Promise<Verdict>
    const age = clock - Number(body.timestamp)
    if (age > maxAgeMs || age < -maxFutureMs) {
      verdict = { ...fallback, reason: age > maxAgeMs ? 'stale' : 'future' }
    } else if (!checkRequest.Check(body)) {
      const error = checkRequest.Errors(body).First()
      verdict = { ...fallback, reason: `not a pre-send request: ${error?.path || '/'} ${error?.message ?? ''}`.trim() }
    } else {
      const message = body as unknown as PreSendMessage
      message.kind = bodyKind(bodiesOf(message)[0])
      trace.kind = `pre-send:${message.kind}`
      verdict = decide(preSend, message, request, preSendBudgetMs, fallback)
    }

    const settle = (result: Verdict): string => {
      trace.outcome = result.outcome
      trace.rule = result.rule
      trace.reason = result.reason
      return result.reply
    }
    if (!isThenable(verdict)) {
      const text = settle(verdict)
      cache.set(body.callId, Promise.resolve(text), clock + memory, clock)
      return answer(reply, text)
    }
    const pending = verdict.then(settle)
    cache.set(body.callId, pending, clock + memory, clock)
    return pending.then(text => answer(reply, text))
  })
  done()
}

export default preSendRoute
