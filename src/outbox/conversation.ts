import type { CallbackEvent } from '../schemas/kinds.js'

type Fields = Record<string, unknown>

function text (value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

/**
 * The conversation whose deliveries must keep their order: a group or room (by its id), or the
 * pair of users of a one-to-one chat (either direction). Messages and what refers to them
 * (recalls, edits, receipts) share it; group operations go with their group. Everything else
 * has no order with anything.
 */
export function conversationOf (event: CallbackEvent): string | null {
  const fields = event as unknown as Fields
  if (event.kind === 'group_op') return `group:${event.id}`
  const group = text(fields.group_id)
  if (typeof fields.chat_type !== 'string' || fields.chat_type === 'notify' || event.kind === 'offline_push' || event.kind === 'roster') return null
  if (group !== undefined) return `group:${group}`
  if (fields.chat_type !== 'chat' && !['read_ack', 'delivery_ack', 'channel_ack', 'recall', 'edit'].includes(event.kind)) return null
  const from = text(fields.from)
  const to = text(fields.to)
  if (from === undefined || to === undefined) return null
  return from < to ? `chat:${from}\u0000${to}` : `chat:${to}\u0000${from}`
}
