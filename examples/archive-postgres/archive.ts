// The PostgreSQL side of the archive: the schema, and one function per thing a callback does to it.
// Every write is idempotent, so that a replayed or retried callback changes nothing.
import { readFile } from 'node:fs/promises'
import type { Pool } from 'pg'
// In your own app: from 'fastify-easemob-callback'
import type { CallbackEvent, MessageEvent } from 'fastify-easemob-callback'

type Json = Record<string, unknown>

function objectOr (value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Json : {}
}

/** Easemob's timestamps are ms since the epoch, as a number or (in some docs) a digit string. */
function dateOf (timestamp: number | string): Date {
  return new Date(Number(String(timestamp).trim()))
}

/** Runs schema.sql (every statement IF NOT EXISTS): safe at every start, and by several replicas at once. */
export async function createSchema (pool: Pool): Promise<void> {
  await pool.query(await readFile(new URL('./schema.sql', import.meta.url), 'utf8'))
}

/** A text message's own text, or a short line for any other body; one line per body. */
export function summarise (bodies: unknown): string | null {
  if (!Array.isArray(bodies) || bodies.length === 0) return null
  return bodies.map(body => summariseBody(objectOr(body))).join('\n')
}

function summariseBody (body: Json): string {
  const text = (key: string): string => typeof body[key] === 'string' || typeof body[key] === 'number' ? String(body[key]) : ''
  switch (body.type) {
    case 'txt': return body.subType === 'sub_combine' ? `[merged] ${text('title') || 'chat history'}` : text('msg')
    case 'img': return `[image] ${text('filename')}`.trim()
    case 'audio': return `[voice ${text('length') || '?'}s]`
    case 'video': return `[video ${text('length') || '?'}s]`
    case 'file': return `[file] ${text('filename')}`.trim()
    case 'loc': return `[location] ${text('addr') || `${text('lat')},${text('lng')}`}`
    case 'cmd': return `[command] ${text('action') || text('msg')}`.trim()
    case 'custom': return `[custom] ${text('customEvent')}`.trim()
    default: return `[${typeof body.type === 'string' ? body.type : 'unknown'}]`
  }
}

/**
 * Where a message belongs: its group or room, or for a one-to-one message the two users, sorted
 * (Easemob user IDs are case-insensitive), so that both directions are one conversation.
 */
export function conversationOf (event: MessageEvent): string {
  if (event.chat_type !== 'chat') return event.group_id ?? event.to ?? ''
  return [event.from ?? '', event.to ?? ''].map(user => user.toLowerCase()).sort().join(':')
}

const INSERT_MESSAGE = `
  INSERT INTO messages (msg_id, call_id, event_type, chat_type, from_user, to_id, group_id, conversation,
                        kind, text, payload, unrecognised, sent_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
  ON CONFLICT (msg_id) DO NOTHING`

/**
 * Stores a chat message of any body type; false when it was already stored. Keyed by msg_id: a
 * replay, a retry under a new callId, and the `chat_offline` copies of a group message (one per
 * offline member, sharing a callId, each with that member as `to`) are all the same message.
 */
export async function storeMessage (pool: Pool, event: MessageEvent): Promise<boolean> {
  const payload: unknown = event.payload
  const group = event.chat_type !== 'chat'
  const result = await pool.query(INSERT_MESSAGE, [
    // A message the package did not recognise may lack msg_id; its callId then stands in.
    event.msg_id === undefined ? event.callId : String(event.msg_id),
    event.callId,
    event.eventType ?? null,
    event.chat_type,
    event.from ?? null,
    // A group message's chat_offline copy has the offline member as `to`: the group is kept instead.
    group ? event.group_id ?? event.to ?? null : event.to ?? null,
    event.group_id ?? null,
    conversationOf(event),
    event.kind,
    summarise(objectOr(payload).bodies),
    // JSON text, not the object: node-postgres would turn a top-level array into a PostgreSQL array.
    payload === undefined ? null : JSON.stringify(payload),
    event.kind === 'unknown' ? event.unrecognised.reason : null,
    dateOf(event.timestamp)
  ])
  return result.rowCount === 1
}

/** Records a recall (the message may not have arrived yet); false when it was already recorded. */
export async function applyRecall (pool: Pool, event: CallbackEvent<'recall'>): Promise<boolean> {
  const recalled = event.recall_id ?? event.payload.ack_message_id
  if (recalled === undefined) return false
  const result = await pool.query(
    'INSERT INTO recalls (msg_id, call_id, recalled_by, recalled_at) VALUES ($1, $2, $3, $4) ON CONFLICT (msg_id) DO NOTHING',
    [String(recalled), event.callId, event.from, dateOf(event.timestamp)]
  )
  return result.rowCount === 1
}

/**
 * Applies an edit to a stored message: its bodies and text are replaced. Only an edit newer than
 * the last one applied changes anything, so a replay or a late retry does not. An edit of a message
 * not stored (yet) is dropped: keep edits in a table of their own, as recalls are, if that matters.
 */
export async function applyEdit (pool: Pool, event: CallbackEvent<'edit'>): Promise<boolean> {
  const { bodies, edit_message_id: edited, meta } = event.payload
  const count = meta?.edit_msg?.count
  const result = await pool.query(`
    UPDATE messages
       SET payload = COALESCE(payload, '{}'::jsonb) || jsonb_build_object('bodies', $2::jsonb),
           text = $3, edited_at = $4, edit_count = COALESCE($5, edit_count + 1)
     WHERE msg_id = $1 AND (edited_at IS NULL OR edited_at < $4)`,
  [String(edited), JSON.stringify(bodies), summarise(bodies), dateOf(meta?.edit_msg?.edit_time ?? event.timestamp), count === undefined ? null : Number(count)])
  return result.rowCount === 1
}

export interface ArchivedMessage {
  msgId: string
  callId: string
  chatType: string
  from: string | null
  to: string | null
  groupId: string | null
  kind: string
  /** Null once recalled, as a chat shows "message recalled". */
  text: string | null
  payload: unknown
  sentAt: string
  editCount: number
  recalledAt: string | null
}

interface Row {
  msg_id: string
  call_id: string
  chat_type: string
  from_user: string | null
  to_id: string | null
  group_id: string | null
  kind: string
  text: string | null
  payload: unknown
  sent_at: Date
  edit_count: number
  recalled_at: Date | null
}

/** The latest `limit` messages of a conversation, oldest first, recalls applied. */
export async function listMessages (pool: Pool, conversation: string, limit: number): Promise<ArchivedMessage[]> {
  const { rows } = await pool.query<Row>(`
    SELECT * FROM (
      SELECT m.*, r.recalled_at FROM messages m LEFT JOIN recalls r USING (msg_id)
       WHERE m.conversation = $1 ORDER BY m.sent_at DESC, m.msg_id DESC LIMIT $2
    ) latest ORDER BY sent_at, msg_id`, [conversation, limit])
  return rows.map(row => ({
    msgId: row.msg_id,
    callId: row.call_id,
    chatType: row.chat_type,
    from: row.from_user,
    to: row.to_id,
    groupId: row.group_id,
    kind: row.kind,
    text: row.recalled_at === null ? row.text : null,
    payload: row.recalled_at === null ? row.payload : null,
    sentAt: row.sent_at.toISOString(),
    editCount: row.edit_count,
    recalledAt: row.recalled_at?.toISOString() ?? null
  }))
}
