import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { BODY_TYPES, callbackSchemas, type CallbackKind, isMessageKind, type Unrecognised } from './schemas/kinds.js'

type Body = Record<string, unknown>

const MESSAGE_CHAT_TYPES = new Set(['chat', 'groupchat', 'chatroom'])
const RECEIPT_KINDS = new Set(['read_ack', 'delivery_ack', 'channel_ack'])

function field (value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Body)[key] : undefined
}

function firstBody (payload: unknown): unknown {
  const bodies = field(payload, 'bodies')
  return Array.isArray(bodies) ? bodies[0] : undefined
}

function bodyType (payload: unknown): unknown {
  return field(firstBody(payload), 'type')
}

function messageKind (payload: unknown): CallbackKind {
  const first = firstBody(payload)
  const type = field(first, 'type')
  if (type === 'txt' && field(first, 'subType') === 'sub_combine') return 'combine'
  return typeof type === 'string' && BODY_TYPES.has(type) ? type as CallbackKind : 'unknown'
}

/**
 * Names the shape of a callback from the fields that tell the envelopes apart (docs/protocol.md,
 * "Telling callbacks apart"). It looks at discriminating fields only; the kind's schema then checks the rest.
 */
export function shapeOf (body: Body): CallbackKind {
  if (body.event === 'group_op_event') return 'group_op'
  if (body.eventType === 'keyword_alert') return 'keyword_alert'
  if (body.eventType === 'moderation') return 'moderation'
  if (body.step === 'push') return 'offline_push'
  const chatType = body.chat_type
  if (chatType === undefined) {
    return typeof body.user === 'string' && body.status !== undefined && body.reason !== undefined ? 'user_status' : 'unknown'
  }
  if (typeof chatType !== 'string') return 'unknown'
  if (MESSAGE_CHAT_TYPES.has(chatType)) return messageKind(body.payload)
  if (RECEIPT_KINDS.has(chatType)) return chatType as CallbackKind
  switch (chatType) {
    case 'recall':
    case 'edit':
    case 'roster':
    case 'muc':
      return chatType
    case 'notify': {
      const type = field(body.payload, 'type')
      return type === 'reaction' || type === 'thread' ? type : 'unknown'
    }
    default:
      return 'unknown'
  }
}

const checks = Object.fromEntries(
  Object.entries(callbackSchemas).map(([kind, schema]) => [kind, TypeCompiler.Compile(schema)])
) as { [K in CallbackKind]: TypeCheck<typeof callbackSchemas[K]> }

export interface Classification {
  kind: CallbackKind
  /** Set when `kind` is `unknown`. */
  unrecognised?: Unrecognised
}

function isChatMessage (body: Body, shape: CallbackKind): boolean {
  return isMessageKind(shape) || (shape === 'unknown' && typeof body.chat_type === 'string' && MESSAGE_CHAT_TYPES.has(body.chat_type))
}

/**
 * Routes a signed callback to a kind. A callback that looks like a kind but does not fit its
 * schema is routed as `unknown` rather than rejected, with the kind it looks like and why:
 * Easemob's docs disagree with themselves often enough that a real callback must still reach a
 * handler. A chat message stays a chat message whatever its body, so that it reaches `message`.
 */
export function classify (body: Body): Classification {
  const shape = shapeOf(body)
  if (shape === 'unknown') {
    const message = isChatMessage(body, shape)
    const reason = message ? `body type ${JSON.stringify(bodyType(body.payload) ?? null)} is not one this package knows` : 'unrecognised envelope'
    return { kind: shape, unrecognised: { message, reason } }
  }
  const check = checks[shape]
  if (check.Check(body)) return { kind: shape }
  const error = check.Errors(body).First()
  const reason = `looks like ${shape} but ${error === undefined ? 'does not fit its schema' : `${error.path || '/'}: ${error.message}`}`
  return { kind: 'unknown', unrecognised: { looksLike: shape, message: isChatMessage(body, shape), reason } }
}
