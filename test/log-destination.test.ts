// The service's log destination: every line logged arrives, in order, exactly once, in one write
// per event-loop turn, whatever the descriptor does (takes part of a write, says EAGAIN, breaks).
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import easemobCallback, { BatchedLogDestination, batchedLogDestination, type LogDestinationFs } from '../src/index.js'
import { NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'

interface WriteCall {
  bytes: Buffer
  /** Completes the write as the OS would: `written` bytes taken, or an error. */
  done: (error: NodeJS.ErrnoException | null, written?: number) => void
}

/** A descriptor the test drives: each asynchronous write waits until the test completes it. */
function fakeFs (syncResults: Array<number | string> = []) {
  const calls: WriteCall[] = []
  const syncWrites: Buffer[] = []
  let wake: (() => void) | undefined
  const fs: LogDestinationFs = {
    write (_fd, buffer, offset, length, _position, callback) {
      const bytes = Buffer.from(buffer.subarray(offset, offset + length))
      calls.push({ bytes, done: (error, written = bytes.length) => callback(error, error === null ? written : 0) })
      wake?.()
    },
    writeSync (_fd, buffer, offset, length) {
      const result = syncResults.shift() ?? length
      if (typeof result === 'string') throw Object.assign(new Error(result), { code: result })
      syncWrites.push(Buffer.from(buffer.subarray(offset, offset + result)))
      return result
    }
  }
  let taken = 0
  return {
    fs,
    calls,
    syncWrites,
    /** The next write the destination starts (already started, or once it starts). */
    async nextWrite (): Promise<WriteCall> {
      while (calls.length <= taken) await new Promise<void>(resolve => { wake = resolve })
      return calls[taken++]
    }
  }
}

const turn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: from the test`), { code })

t.test('lines logged in one turn go out in one write, in order, at the end of that turn', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs })
  destination.write('{"n":1}\n')
  destination.write('{"n":2}\n')
  destination.write('{"n":3}\n')
  t.equal(fake.calls.length, 0, 'nothing is written while the turn is still logging')
  const write = await fake.nextWrite()
  t.equal(write.bytes.toString(), '{"n":1}\n{"n":2}\n{"n":3}\n')
  write.done(null)
  await turn()
  t.equal(fake.calls.length, 1, 'one write for the three lines')
})

t.test('lines logged while a write is in flight wait for it, then go out together', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs })
  destination.write('a\n')
  const first = await fake.nextWrite()
  destination.write('b\n')
  await turn()
  destination.write('c\n')
  await turn()
  t.equal(fake.calls.length, 1, 'no second write overlaps the first')
  first.done(null)
  const second = await fake.nextWrite()
  t.equal(second.bytes.toString(), 'b\nc\n')
})

t.test('a partial write continues where the descriptor stopped, even inside a character', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs })
  const line = '{"callId":"环信-1","outcome":"dispatched"}\n'
  destination.write(line)
  const first = await fake.nextWrite()
  first.done(null, 13) // 13 bytes end in the middle of 环 (3 bytes in UTF-8)
  const rest = await fake.nextWrite()
  t.equal(Buffer.concat([first.bytes.subarray(0, 13), rest.bytes]).toString(), line)
  t.equal(rest.bytes.length, Buffer.byteLength(line) - 13)
})

t.test('EAGAIN and EBUSY: the same bytes are written again, and lines logged meanwhile follow', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs, retryDelayMs: 0 })
  destination.write('first\n')
  const tries = [await fake.nextWrite()]
  destination.write('second\n')
  tries[0].done(errno('EAGAIN'))
  tries.push(await fake.nextWrite())
  tries[1].done(errno('EBUSY'))
  tries.push(await fake.nextWrite())
  t.same(tries.map(call => call.bytes.toString()), ['first\n', 'first\n', 'first\n'])
  tries[2].done(null)
  t.equal((await fake.nextWrite()).bytes.toString(), 'second\n')
})

t.test('flush() calls back once every line so far is written', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs })
  let flushed = false
  destination.flush(() => { flushed = true })
  await turn()
  t.ok(flushed, 'nothing held: at once')

  flushed = false
  destination.write('x\n')
  destination.flush(() => { flushed = true })
  const write = await fake.nextWrite()
  await turn()
  t.notOk(flushed, 'not while the write is in flight')
  write.done(null)
  t.ok(flushed)
})

t.test('a write error loses that batch only: a warning says so, and later lines are written', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs })
  const warning = new Promise<Error & { code?: string }>(resolve => process.once('warning', resolve))
  let flushError: Error | undefined
  destination.write('lost\n')
  destination.flush(error => { flushError = error })
  ;(await fake.nextWrite()).done(errno('EIO'))
  const warned = await warning
  t.equal(warned.code, 'FST_EASEMOB_LOG_WRITE')
  t.match(warned.message, /5 bytes of log lines lost: EIO/)
  t.equal(flushError?.message, 'EIO: from the test', 'flush() callers hear of it')
  destination.write('kept\n')
  t.equal((await fake.nextWrite()).bytes.toString(), 'kept\n')
})

t.test('EPIPE: nobody reads any more, so later lines are not even attempted', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs })
  destination.write('one\n')
  ;(await fake.nextWrite()).done(errno('EPIPE'))
  t.ok(destination.write('two\n'), 'logging goes on without throwing')
  destination.flushSync()
  await turn()
  t.equal(fake.calls.length, 1)
  t.equal(fake.syncWrites.length, 0)
})

t.test('over maxPending, lines are dropped and counted, not held without limit', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs, maxPending: 10 })
  destination.write('12345\n')
  const stuck = await fake.nextWrite()
  t.ok(destination.write('abcd\n'))
  t.notOk(destination.write('dropped\n'), 'write() says the line was not taken')
  t.notOk(destination.write('dropped too\n'))
  const warning = new Promise<Error & { code?: string }>(resolve => process.once('warning', resolve))
  stuck.done(null)
  t.equal((await fake.nextWrite()).bytes.toString(), 'abcd\n')
  const warned = await warning
  t.equal(warned.code, 'FST_EASEMOB_LOG_DROPPED')
  t.match(warned.message, /^log destination: 2 log lines dropped/)
})

t.test('flushSync (process exit) writes what is held at once, through partial writes and EAGAIN', async t => {
  const fake = fakeFs([3, 'EAGAIN'])
  const destination = batchedLogDestination({ fs: fake.fs })
  destination.write('held 1\n')
  destination.write('held 2\n')
  destination.flushSync()
  t.equal(Buffer.concat(fake.syncWrites).toString(), 'held 1\nheld 2\n')
  await turn()
  t.equal(fake.calls.length, 0, 'and nothing is written twice')
})

t.test('flushSync while an EAGAIN retry waits: those bytes go first, then the held lines, and the retry is dropped', async t => {
  const fake = fakeFs()
  const destination = batchedLogDestination({ fs: fake.fs, retryDelayMs: 60_000 })
  destination.write('first\n')
  ;(await fake.nextWrite()).done(errno('EAGAIN'))
  destination.write('second\n')
  destination.flushSync()
  t.equal(Buffer.concat(fake.syncWrites).toString(), 'first\nsecond\n')
  t.equal(fake.calls.length, 1, 'no asynchronous retry is left to write them twice')
})

t.test('options are checked when the destination is made', async t => {
  t.throws(() => batchedLogDestination({ fd: -1 }), /fd must be a file descriptor/)
  t.throws(() => batchedLogDestination({ fd: 1.5 }), /fd must be a file descriptor/)
  t.throws(() => batchedLogDestination({ maxPending: 0 }), /maxPending must be a positive number/)
  t.equal(new BatchedLogDestination().fd, 1, 'stdout by default')
})

t.test('as a Fastify logger stream: each callback\'s line reaches the file, one JSON line each', async t => {
  const file = join(mkdtempSync(join(tmpdir(), 'easemob-log-')), 'service.log')
  const fd = openSync(file, 'a')
  t.teardown(() => closeSync(fd))
  const destination = batchedLogDestination({ fd })
  const app = Fastify({ logger: { level: 'info', stream: destination } })
  await app.register(easemobCallback, { secrets: [SECRET], now: () => NOW })
  const replies = await Promise.all([1, 2, 3].map(n => post(app, signed(sample('post_chat_txt'), { callId: `log-${n}` }))))
  t.same(replies.map(reply => reply.statusCode), [200, 200, 200])
  await new Promise<void>((resolve, reject) => destination.flush(error => { error === undefined ? resolve() : reject(error) }))
  const lines = readFileSync(file, 'utf8').trim().split('\n').map(line => JSON.parse(line) as { callId?: string, outcome?: string })
  t.same(lines.filter(line => line.callId !== undefined).map(line => [line.callId, line.outcome]).sort(), [
    ['log-1', 'dispatched'], ['log-2', 'dispatched'], ['log-3', 'dispatched']
  ])
  await app.close()
})
