import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

/** pending: to be delivered; delivered; dead: gave up, waits for an operator; quarantined: stale, kept aside. */
export type RowState = 'pending' | 'delivered' | 'dead' | 'quarantined'
export const ROW_STATES: readonly RowState[] = ['pending', 'delivered', 'dead', 'quarantined']

/** A callback as written: the replay key, what the log and ordering need, and the event as JSON. */
export interface NewRow {
  key: string
  callId: string
  kind: string
  /** Deliveries of one conversation keep their order; null: no order with anything. */
  conversation: string | null
  body: string
  receivedAt: number
  /** pending: to be delivered; delivered: recorded only (its handlers ran in the request); quarantined. */
  state: 'pending' | 'delivered' | 'quarantined'
}

export interface StoredRow extends Omit<NewRow, 'state'> {
  id: number
  state: RowState
  attempts: number
  nextAttemptAt: number | null
  lastError: string | null
  deliveredAt: number | null
}

/** How a delivery attempt ended: delivered, or failed with the time of the next attempt (null: dead). */
export type Settlement = { id: number, delivered: true, at: number } |
{ id: number, delivered: false, error: string, nextAttemptAt: number | null }

export interface Retention {
  /** Delivered rows older than this (ms) are pruned. */
  retentionMs: number
  /** At most this many delivered rows are kept; the oldest go first. */
  retainRows: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS callbacks (
  id              INTEGER PRIMARY KEY,
  key             TEXT    NOT NULL UNIQUE,
  call_id         TEXT    NOT NULL,
  kind            TEXT    NOT NULL,
  conversation    TEXT,
  body            TEXT    NOT NULL,
  received_at     INTEGER NOT NULL,
  state           TEXT    NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error      TEXT,
  delivered_at    INTEGER
);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS callbacks_conversation ON callbacks (conversation, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS callbacks_delivered ON callbacks (delivered_at) WHERE state = 'delivered';
CREATE INDEX IF NOT EXISTS callbacks_received ON callbacks (received_at);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
`

const COLUMNS = `id, key, call_id AS callId, kind, conversation, body, received_at AS receivedAt, state, attempts,
  next_attempt_at AS nextAttemptAt, last_error AS lastError, delivered_at AS deliveredAt`

/**
 * The outbox file: one SQLite database in WAL mode. Synchronous, as better-sqlite3 is: the service
 * uses it from one worker thread (see thread.ts), the operator CLI directly. Every time it needs
 * comes from the caller, so that tests control the clock.
 */
export class OutboxDatabase {
  readonly #db: Database.Database
  readonly #insert: Database.Statement
  readonly #insertMany: (rows: readonly NewRow[]) => Array<number | null>
  readonly #due: Database.Statement
  readonly #settleMany: (settlements: readonly Settlement[]) => void

  constructor (readonly path: string, { synchronous = 'full', busyTimeoutMs = 1000 }: { synchronous?: 'full' | 'normal', busyTimeoutMs?: number } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = new Database(path, { timeout: busyTimeoutMs })
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    this.#db.exec(SCHEMA)
    this.#insert = this.#db.prepare(`INSERT OR IGNORE INTO callbacks (key, call_id, kind, conversation, body, received_at, state, next_attempt_at, delivered_at)
      VALUES (@key, @callId, @kind, @conversation, @body, @receivedAt, @state,
        CASE @state WHEN 'pending' THEN @receivedAt END, CASE @state WHEN 'delivered' THEN @receivedAt END)`)
    this.#insertMany = this.#db.transaction((rows: readonly NewRow[]) => rows.map(row => {
      const { changes, lastInsertRowid } = this.#insert.run(row)
      return changes === 1 ? Number(lastInsertRowid) : null
    }))
    // A row is due when its time has come and no earlier row of its conversation is still pending:
    // that is what keeps a conversation's deliveries in order.
    this.#due = this.#db.prepare(`SELECT ${COLUMNS} FROM callbacks c
      WHERE state = 'pending' AND next_attempt_at <= ?
        AND (conversation IS NULL OR NOT EXISTS (
          SELECT 1 FROM callbacks e WHERE e.state = 'pending' AND e.conversation = c.conversation AND e.id < c.id))
      ORDER BY next_attempt_at, id LIMIT ?`)
    const delivered = this.#db.prepare(`UPDATE callbacks SET state = 'delivered', attempts = attempts + 1, delivered_at = ?,
      next_attempt_at = NULL, last_error = NULL WHERE id = ? AND state = 'pending'`)
    const failed = this.#db.prepare(`UPDATE callbacks SET attempts = attempts + 1, last_error = ?,
      next_attempt_at = ?, state = CASE WHEN ? IS NULL THEN 'dead' ELSE 'pending' END WHERE id = ? AND state = 'pending'`)
    this.#settleMany = this.#db.transaction((settlements: readonly Settlement[]) => {
      for (const s of settlements) {
        if (s.delivered) delivered.run(s.at, s.id)
        else failed.run(s.error, s.nextAttemptAt, s.nextAttemptAt, s.id)
      }
    })
  }

  /** Writes `rows` in one transaction; for each, its id, or null when its key was already held. */
  insert (rows: readonly NewRow[]): Array<number | null> {
    return this.#insertMany(rows)
  }

  /** Forgets a row, so that its key can be taken again. */
  remove (key: string): void {
    this.#db.prepare('DELETE FROM callbacks WHERE key = ?').run(key)
  }

  /** How many rows up to `id` are pending. */
  pendingUpTo (id: number): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM callbacks WHERE state = 'pending' AND id <= ?").get(id) as { n: number }).n
  }

  /** Up to `limit` rows due at `now`, oldest first, at most one per conversation. */
  due (now: number, limit: number): StoredRow[] {
    return this.#due.all(now, limit) as StoredRow[]
  }

  settle (settlements: readonly Settlement[]): void {
    this.#settleMany(settlements)
  }

  /** The earliest time a pending row becomes due, or null when none is pending. */
  nextDue (): number | null {
    return (this.#db.prepare("SELECT min(next_attempt_at) AS at FROM callbacks WHERE state = 'pending'").get() as { at: number | null }).at
  }

  /** Deletes delivered rows past the retention; returns how many. */
  prune (now: number, { retentionMs, retainRows }: Retention): number {
    const old = this.#db.prepare("DELETE FROM callbacks WHERE state = 'delivered' AND delivered_at < ?").run(now - retentionMs).changes
    const excess = this.#db.prepare(`DELETE FROM callbacks WHERE id IN (SELECT id FROM callbacks WHERE state = 'delivered'
      ORDER BY delivered_at DESC LIMIT -1 OFFSET ?)`).run(retainRows).changes
    return old + excess
  }

  /** A real write, for readiness: throws when the file cannot be written. */
  probe (now: number): void {
    this.#db.prepare('INSERT INTO probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at').run(now)
  }

  counts (): Record<RowState, number> {
    const counts: Record<RowState, number> = { pending: 0, delivered: 0, dead: 0, quarantined: 0 }
    for (const row of this.#db.prepare('SELECT state, count(*) AS n FROM callbacks GROUP BY state').all() as Array<{ state: RowState, n: number }>) counts[row.state] = row.n
    return counts
  }

  // ---- operators: list, inspect, redeliver, replay ----

  list ({ state, limit = 50, afterId = 0 }: { state?: RowState, limit?: number, afterId?: number }): StoredRow[] {
    return this.#db.prepare(`SELECT ${COLUMNS} FROM callbacks WHERE (@state IS NULL OR state = @state) AND id > @afterId ORDER BY id LIMIT @limit`)
      .all({ state: state ?? null, afterId, limit }) as StoredRow[]
  }

  get (id: number): StoredRow | undefined {
    return this.#db.prepare(`SELECT ${COLUMNS} FROM callbacks WHERE id = ?`).get(id) as StoredRow | undefined
  }

  /** Puts rows back in the queue with a fresh count of attempts; `ids`, or every row in `state`. */
  redeliver (now: number, selection: { ids: readonly number[] } | { state: RowState }): number {
    const reset = `UPDATE callbacks SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL, delivered_at = NULL`
    if ('state' in selection) return this.#db.prepare(`${reset} WHERE state = ?`).run(now, selection.state).changes
    const one = this.#db.prepare(`${reset} WHERE id = ?`)
    return this.#db.transaction(() => selection.ids.reduce((sum, id) => sum + one.run(now, id).changes, 0))()
  }

  /** Delivers again every row received in [from, to) that is not pending, quarantined ones included. */
  replay (now: number, from: number, to: number): number {
    return this.#db.prepare(`UPDATE callbacks SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL, delivered_at = NULL
      WHERE received_at >= ? AND received_at < ? AND state <> 'pending'`).run(now, from, to).changes
  }

  close (): void {
    this.#db.close()
  }
}
