import type { PreSendBodiesPayload, PreSendBody, PreSendKind, PreSendMessage, PreSendRequest } from '../schemas/pre-send.js'
import { BODY_TYPES } from '../schemas/kinds.js'

// Helpers that hide the two payload forms of pre-send requests (docs/protocol.md#pre-send) from policies.

export function isBodiesPayload (payload: PreSendRequest['payload']): payload is PreSendBodiesPayload {
  return Array.isArray((payload as { bodies?: unknown }).bodies)
}

/** The message's bodies, whichever form the payload has. */
export function bodiesOf (message: Pick<PreSendRequest, 'payload'>): PreSendBody[] {
  return isBodiesPayload(message.payload) ? message.payload.bodies : [message.payload]
}

/** `ext` of the `{ext, bodies}` form when it is an object; the flat form carries none. */
export function extOf (message: Pick<PreSendRequest, 'payload'>): Record<string, unknown> | undefined {
  const ext = isBodiesPayload(message.payload) ? message.payload.ext : undefined
  return typeof ext === 'object' && ext !== null && !Array.isArray(ext) ? ext as Record<string, unknown> : undefined
}

export function bodyKind (body: PreSendBody | undefined): PreSendKind {
  if (body === undefined) return 'unknown'
  if ((body as { subType?: unknown }).subType === 'sub_combine') return 'combine'
  return BODY_TYPES.has(body.type as string) ? body.type as PreSendKind : 'unknown'
}

export type ChatType = 'chat' | 'group' | 'chatroom'

/**
 * One spelling per conversation type. `groupchat` (every doc sample) and `group` (the doc table)
 * both mean a group; a room is `chatroom`. Anything else is treated as a one-to-one chat.
 */
export function chatTypeOf (message: Pick<PreSendRequest, 'chat_type'>): ChatType {
  switch (message.chat_type) {
    case 'group':
    case 'groupchat': return 'group'
    case 'chatroom': return 'chatroom'
    default: return 'chat'
  }
}

/**
 * A rewritten payload in the request's own form: `rewrite` gets each body and returns its
 * replacement (and `rewriteExt` the ext, in the `{ext, bodies}` form). Easemob requires the reply
 * payload to match the incoming format (docs/protocol.md#pre-send).
 */
export function rewritePayload (
  message: Pick<PreSendMessage, 'payload'>,
  rewrite: (body: PreSendBody) => PreSendBody,
  rewriteExt: (ext: Record<string, unknown>) => Record<string, unknown> = ext => ext
): Record<string, unknown> {
  const payload = message.payload
  if (!isBodiesPayload(payload)) return { ...rewrite(payload) }
  const result: Record<string, unknown> = { ...payload, bodies: payload.bodies.map(rewrite) }
  const ext = extOf(message)
  if (ext !== undefined) result.ext = rewriteExt(ext)
  return result
}
