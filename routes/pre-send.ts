import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyBaseLogger, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import { ERR_BAD_OPTION } from '../src/errors.js'
import type { NormalisedOptions, PreSendHandler } from '../src/options.js'
import { bodiesOf, bodyKind } from '../src/pre-send/message.js'
import { MAX_REPLY_CHARS, PreSendReply, PreSendRequest, type PreSendDecision, type PreSendMessage } from '../src/schemas/pre-send.js'
import { CallbackEnvelope } from '../src/schemas/route.js'
import { BoundedExpiringMap } from '../src/store/bounded-map.js'
import { isThenable } from '../src/thenable.js'
import type { SharedDecisions } from '../src/pre-send/shared-decisions.js'
import { type CallbackTrace, startTrace, traceOf } from '../src/trace.js'

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
  const { now, maxAgeMs, maxFutureMs, preSendBudgetMs, preSendShared: shared } = options
  const fallbackReply = toReply(options.preSendFallback)
  if (typeof fallbackReply !== 'string') return done(new ERR_BAD_OPTION('preSendFallback', fallbackReply[0]))
  const fallback: Verdict = { reply: fallbackReply, outcome: 'fallback' }
  // The first reply to each callId, kept as long as a replay of it could still pass as fresh. A
  // pending reply is shared: a replay that arrives while the first is being decided waits for it.
  const cache = new BoundedExpiringMap<Promise<string>>({ maxEntries: options.preSendCacheEntries })
  const memory = maxAgeMs + maxFutureMs + 1

  const answer = (reply: FastifyReply, text: string): FastifyReply => reply.type('application/json; charset=utf-8').send(text)

  type Request = FastifyRequest<{ Body: CallbackEnvelope & Record<string, unknown> }>

  /** This replica's decision, noted on the trace; synchronous while the policy is. */
  function decideHere (request: Request): string | Promise<string> {
    const body = request.body
    const trace = traceOf(request) as CallbackTrace
    let verdict: Verdict | Promise<Verdict>
    const age = now() - Number(body.timestamp)
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
    return isThenable(verdict) ? verdict.then(settle) : settle(verdict)
  }

  fastify.post<{ Body: CallbackEnvelope & Record<string, unknown> }>('/pre-send', {
    bodyLimit: options.bodyLimit,
    schema: { body: CallbackEnvelope }
  }, function receivePreSend (request, reply) {
    const { callId } = request.body
    const trace = startTrace(request, { callId, kind: 'pre-send', outcome: 'received' })
    if (shared !== undefined) return receiveShared(shared, request, reply)
    const clock = now()
    const previous = cache.get(callId, clock)
    if (previous !== undefined) {
      trace.outcome = 'duplicate'
      return previous.then(text => answer(reply, text))
    }
    const text = decideHere(request)
    if (typeof text === 'string') {
      cache.set(callId, Promise.resolve(text), clock + memory, clock)
      return answer(reply, text)
    }
    cache.set(callId, text, clock + memory, clock)
    return text.then(decided => answer(reply, decided))
  })

  /**
   * With decisions shared between replicas: another replica's reply wins over this one's, and
   * this one is kept for the others. A shared store that does not answer within half the budget
   * is passed over: the decision stays this replica's own.
   */
  function receiveShared (shared: SharedDecisions, request: Request, reply: FastifyReply): Promise<FastifyReply> {
    const { callId } = request.body
    const clock = now()
    const local = cache.get(callId, clock)
    if (local !== undefined) {
      (traceOf(request) as CallbackTrace).outcome = 'duplicate'
      return local.then(text => answer(reply, text))
    }
    const within = <T>(work: Promise<T>): Promise<T | undefined> => {
      let timer: NodeJS.Timeout | undefined
      return Promise.race([work, new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), preSendBudgetMs / 2) })])
        .catch((error: unknown) => { request.log.warn({ err: error, callId }, 'shared pre-send decisions did not answer; deciding alone'); return undefined })
        .finally(() => { clearTimeout(timer) })
    }
    const pending = Promise.all([within(shared.get(callId)), decideHere(request)]).then(async ([earlier, mine]) => {
      if (earlier !== undefined) {
        (traceOf(request) as CallbackTrace).outcome = 'duplicate'
        return earlier
      }
      return await within(shared.keep(callId, mine, memory)) ?? mine
    })
    cache.set(callId, pending, clock + memory, clock)
    return pending.then(text => answer(reply, text))
  }
  done()
}

export default preSendRoute
