import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import type { NewRow, OutboxDatabase, Retention, RowState, Settlement, StoredRow } from './database.js'

export interface OutboxFileOptions {
  /** `full` (default): each commit reaches the disk before the 200; `normal`: survives a crash of the process, not of the machine. */
  synchronous?: 'full' | 'normal'
  busyTimeoutMs?: number
}

interface Waiting {
  resolve: (value: never) => void
  reject: (error: Error) => void
}

type Method = keyof OutboxDatabase

/**
 * The outbox thread. Built, this module is .js and so is the thread. Run from source (tests,
 * `node --import tsx`), a worker does not inherit the TypeScript loader, so it registers tsx
 * itself before loading the thread's .ts.
 */
function startThread (workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./thread.js', import.meta.url), { workerData })
  const thread = JSON.stringify(new URL('./thread.ts', import.meta.url).href)
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${thread}) })`, { eval: true, workerData })
}

/**
 * The outbox file seen from the main thread: every call goes to the outbox thread and comes back
 * as a promise. Appends and settlements are group-committed (see GroupCommit below).
 */
export class OutboxClient {
  readonly #worker: Worker
  readonly #waiting = new Map<number, Waiting>()
  #nextId = 1
  #broken: Error | undefined
  readonly #appends = new GroupCommit<NewRow, number | null>(rows => this.#call<Array<number | null>>('insert', rows))
  readonly #settlements = new GroupCommit<Settlement, void>(async settlements => {
    await this.#call('settle', settlements)
    return settlements.map(() => undefined)
  })

  private constructor (worker: Worker) {
    this.#worker = worker
    worker.on('message', ({ id, result, error }: { id: number, result?: unknown, error?: { message: string, code?: string } }) => {
      const waiting = this.#waiting.get(id)
      if (waiting === undefined) return
      this.#waiting.delete(id)
      if (error === undefined) waiting.resolve(result as never)
      else waiting.reject(Object.assign(new Error(error.message), { code: error.code }))
    })
    const fail = (error: Error): void => {
      this.#broken = error
      for (const waiting of this.#waiting.values()) waiting.reject(error)
      this.#waiting.clear()
    }
    worker.on('error', fail)
    worker.on('exit', () => fail(new Error('the outbox thread has stopped')))
  }

  /** Opens (and creates) the outbox file at `path`; rejects when it cannot be opened. */
  static async open (path: string, options: OutboxFileOptions = {}): Promise<OutboxClient> {
    const worker = startThread({ path, options })
    const client = new OutboxClient(worker)
    const ready = new Promise((resolve, reject) => client.#waiting.set(0, { resolve, reject }))
    try {
      await ready
    } catch (error) {
      await worker.terminate()
      throw error
    }
    return client
  }

  #call<T> (method: Method, ...args: unknown[]): Promise<T> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken)
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (value: never) => void, reject })
      this.#worker.postMessage({ id, method, args })
    })
  }

  /** Writes a callback; resolves once the commit that holds it is done: its id, or null when its key was held. */
  append (row: NewRow): Promise<number | null> {
    return this.#appends.add(row)
  }

  /** Records how a delivery ended; group-committed like appends. */
  settle (settlement: Settlement): Promise<void> {
    return this.#settlements.add(settlement)
  }

  due (now: number, limit: number): Promise<StoredRow[]> { return this.#call('due', now, limit) }
  nextDue (): Promise<number | null> { return this.#call('nextDue') }
  pendingUpTo (id: number): Promise<number> { return this.#call('pendingUpTo', id) }
  remove (key: string): Promise<void> { return this.#call('remove', key) }
  prune (now: number, retention: Retention): Promise<number> { return this.#call('prune', now, retention) }
  probe (now: number): Promise<void> { return this.#call('probe', now) }
  counts (): Promise<Record<RowState, number>> { return this.#call('counts') }
  list (query: { state?: RowState, limit?: number, afterId?: number }): Promise<StoredRow[]> { return this.#call('list', query) }
  get (id: number): Promise<StoredRow | undefined> { return this.#call('get', id) }
  redeliver (now: number, selection: { ids: readonly number[] } | { state: RowState }): Promise<number> { return this.#call('redeliver', now, selection) }
  replay (now: number, from: number, to: number): Promise<number> { return this.#call('replay', now, from, to) }

  async close (): Promise<void> {
    if (this.#broken === undefined) {
      const exited = once(this.#worker, 'exit')
      await this.#call('close').catch(() => {})
      await exited
    }
  }
}

/**
 * Items added while a write is in flight wait and go together in the next one: one transaction
 * (and one fsync) for many callbacks under load, and no waiting at all when idle.
 */
class GroupCommit<T, R> {
  #queue: Array<{ item: T, resolve: (result: R) => void, reject: (error: Error) => void }> = []
  #writing = false

  constructor (readonly write: (items: T[]) => Promise<R[]>) {}

  add (item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (this.#writing) return
      this.#writing = true
      // Let what arrives in this turn of the event loop join the first write.
      setImmediate(() => { this.#flush() })
    })
  }

  #flush (): void {
    const batch = this.#queue
    this.#queue = []
    if (batch.length === 0) {
      this.#writing = false
      return
    }
    this.write(batch.map(entry => entry.item)).then(results => {
      batch.forEach((entry, i) => entry.resolve(results[i]))
    }, (error: Error) => {
      for (const entry of batch) entry.reject(error)
    }).finally(() => { this.#flush() })
  }
}
