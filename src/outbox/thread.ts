// The outbox's own thread: it owns the one connection that writes the file, so that the main
// thread never waits on SQLite, and an fsync stalls no request. Every call is a message
// { id, method, args } answered by { id, result } or { id, error }.
import { parentPort, workerData } from 'node:worker_threads'
import { OutboxDatabase } from './database.js'

interface Call {
  id: number
  method: string
  args: unknown[]
}

const port = parentPort
if (port === null) throw new Error('outbox thread: not started as a worker')

let database: OutboxDatabase | undefined
try {
  database = new OutboxDatabase(workerData.path as string, workerData.options as ConstructorParameters<typeof OutboxDatabase>[1])
  port.postMessage({ id: 0, result: 'ready' })
} catch (error) {
  port.postMessage({ id: 0, error: { message: (error as Error).message, code: (error as { code?: string }).code } })
}

port.on('message', ({ id, method, args }: Call) => {
  try {
    if (database === undefined) throw new Error('the outbox file could not be opened')
    const result = (database as unknown as Record<string, (...args: unknown[]) => unknown>)[method](...args)
    port.postMessage({ id, result })
    if (method === 'close') port.close()
  } catch (error) {
    port.postMessage({ id, error: { message: (error as Error).message, code: (error as { code?: string }).code } })
  }
})
