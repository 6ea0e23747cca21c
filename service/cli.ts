#!/usr/bin/env node
// `easemob-callback`: the operator's command line. `outbox ...` works on the outbox file under
// DATA_DIR directly (the service may be running: SQLite's WAL lets both at it); `send ...` is the
// sender of signed sample callbacks.
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { OutboxDatabase, ROW_STATES, type RowState, type StoredRow } from '../src/outbox/database.js'

const USAGE = `usage: easemob-callback outbox <command> [options]
       easemob-callback send [NAME|KIND|all|pre-send ...] [--file F ...] [options]   (see easemob-callback send --help)

Outbox commands (the file is DATA_DIR/outbox.db; DATA_DIR defaults to ./data):
  counts                       callbacks by state: pending, delivered, dead, quarantined
  list [--state S] [--limit N] [--after ID]
                               one line per callback: id, state, attempts, received, kind, callId, last error
  show ID                      one callback, with its event, as JSON
  redeliver ID... | --state S  put callbacks back in the queue with a fresh count of attempts
  replay --from T --to T       deliver again what was received in [from, to) (ISO 8601 or ms)

  --data-dir DIR   the folder of outbox.db (default $DATA_DIR, else ./data)
  --json           machine-readable output
  -h, --help       this text`

function time (text: string | undefined, name: string): number {
  const value = text === undefined ? Number.NaN : /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (Number.isNaN(value)) throw new Error(`--${name} must be an ISO 8601 time or ms since the epoch, got ${JSON.stringify(text)}`)
  return value
}

function state (text: string | undefined): RowState | undefined {
  if (text === undefined) return undefined
  if (!(ROW_STATES as readonly string[]).includes(text)) throw new Error(`--state must be one of ${ROW_STATES.join(', ')}, got ${JSON.stringify(text)}`)
  return text as RowState
}

function line (row: StoredRow): string {
  return [row.id, row.state, row.attempts, new Date(row.receivedAt).toISOString(), row.kind, row.callId, row.lastError ?? ''].join('\t')
}

function outbox (args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string', default: process.env.DATA_DIR ?? './data' },
      state: { type: 'string' },
      limit: { type: 'string', default: '50' },
      after: { type: 'string', default: '0' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const [command, ...rest] = positionals
  if (values.help || command === undefined) {
    console.log(USAGE)
    return values.help ? 0 : 2
  }
  const db = new OutboxDatabase(join(values['data-dir'], 'outbox.db'))
  try {
    const print = (value: unknown, text: () => string): void => { console.log(values.json ? JSON.stringify(value) : text()) }
    switch (command) {
      case 'counts': {
        const counts = db.counts()
        print(counts, () => Object.entries(counts).map(([name, n]) => `${name}\t${n}`).join('\n'))
        return 0
      }
      case 'list': {
        const rows = db.list({ state: state(values.state), limit: Number(values.limit), afterId: Number(values.after) })
        print(rows.map(({ body, ...row }) => row), () => rows.map(line).join('\n'))
        return 0
      }
      case 'show': {
        const row = db.get(Number(rest[0]))
        if (row === undefined) throw new Error(`no callback ${JSON.stringify(rest[0])} in the outbox`)
        console.log(JSON.stringify({ ...row, body: undefined, event: JSON.parse(row.body) as unknown }, null, 2))
        return 0
      }
      case 'redeliver': {
        const selected = state(values.state)
        const ids = rest.map(Number)
        if (selected === undefined && (ids.length === 0 || ids.some(id => !Number.isInteger(id)))) throw new Error('redeliver needs callback ids or --state')
        const count = db.redeliver(Date.now(), selected === undefined ? { ids } : { state: selected })
        print({ redelivered: count }, () => `redelivered ${count}`)
        return 0
      }
      case 'replay': {
        const count = db.replay(Date.now(), time(values.from, 'from'), time(values.to, 'to'))
        print({ replayed: count }, () => `replayed ${count}`)
        return 0
      }
      default:
        throw new Error(`unknown outbox command ${JSON.stringify(command)}; see --help`)
    }
  } finally {
    db.close()
  }
}

async function main (): Promise<number> {
  const [command, ...args] = process.argv.slice(2)
  if (command === 'outbox') return outbox(args)
  if (command === 'send') {
    process.argv.splice(2, 1)
    await import('../src/cli/send.js')
    return 0
  }
  console.log(USAGE)
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2
}

main().then(code => { if (code !== 0) process.exitCode = code }, (error: unknown) => {
  console.error(`easemob-callback: ${(error as Error).message}`)
  process.exitCode = 2
})
