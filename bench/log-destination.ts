// node --import tsx bench/log-destination.ts [lines-per-turn]
// CPU per pino line (the service's callback line) into /dev/null: no-op stream (pino's own work),
// pino's default destination (sonic-boom, async), sonic-boom sync, and batchedLogDestination().
// Each destination runs in a child process pinned to CPU 0 when taskset is there, one after another.
import { execFileSync, spawnSync } from 'node:child_process'
import { openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { batchedLogDestination } from '../src/index.js'

const KINDS = ['null', 'default', 'sync', 'batched'] as const
const [which, perTurnArg] = process.argv.slice(2)

if (!KINDS.includes(which as typeof KINDS[number])) {
  const perTurn = which ?? '64'
  const self = fileURLToPath(import.meta.url)
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', '0'] : []
  for (const kind of KINDS) {
    const command = [...pin, process.execPath, '--import', 'tsx', self, kind, perTurn]
    process.stdout.write(execFileSync(command[0], command.slice(1), { encoding: 'utf8' }))
  }
} else {
  const perTurn = Number(perTurnArg ?? 64)
  const fd = openSync('/dev/null', 'w')
  const destination = which === 'null'
    ? { write () {} }
    : which === 'batched' ? batchedLogDestination({ fd }) : pino.destination({ dest: fd, sync: which === 'sync' })
  const log = pino({ level: 'info' }, destination).child({ reqId: 'req-1' })
  const turns = 3000
  const run = async (): Promise<void> => {
    for (let t = 0; t < turns; t++) {
      for (let i = 0; i < perTurn; i++) {
        log.info({ callId: `acme-corp#chatapp_1392847561029384757-${t * perTurn + i}`, kind: 'txt', outcome: 'dispatched', statusCode: 200, ms: 0.42 }, 'easemob callback')
      }
      await new Promise(resolve => setImmediate(resolve))
    }
  }
  await run() // warm-up
  const before = process.cpuUsage()
  await run()
  const used = process.cpuUsage(before)
  console.log(`${which.padEnd(8)} ${perTurn} lines per turn: ${((used.user + used.system) / (turns * perTurn)).toFixed(2)} µs CPU per line`)
}
