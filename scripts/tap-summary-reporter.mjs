// tap reporter (a Transform: tap pipes raw TAP in, this writes text out): one line per test
// file, the details of every failed assertion, and a closing "N passed, N failed" line, which tap
// does not print itself and CI reads. Counts are of assertions, not of files.
import { Transform } from 'node:stream'
import { Parser } from 'tap-parser'

export default class SummaryReporter extends Transform {
  constructor () {
    super()
    this.counts = { pass: 0, fail: 0, skip: 0 }
    this.failures = []
    this.parser = new Parser()
    this.watch(this.parser, 0, [])
    this.done = new Promise(resolve => this.parser.on('complete', resolve))
  }

  // A point that closes a subtest follows its child parser; only the others are assertions.
  watch (parser, depth, path) {
    let openSubtests = 0
    let failsBefore = 0
    parser.on('child', child => {
      openSubtests++
      failsBefore = this.counts.fail
      this.watch(child, depth + 1, [...path, child.name])
    })
    parser.on('assert', result => {
      if (openSubtests > 0) {
        openSubtests--
        if (depth === 0) this.push(`${result.ok ? 'ok    ' : 'FAILED'} ${result.name}\n`)
        // A test file that crashed or timed out without a failed assertion still counts as a failure.
        if (!result.ok && !result.todo && this.counts.fail === failsBefore) {
          this.counts.fail++
          this.failures.push({ name: [...path, result.name].join(' > '), diag: result.diag })
        }
        return
      }
      if (result.skip || result.todo) this.counts.skip++
      else if (result.ok) this.counts.pass++
      else {
        this.counts.fail++
        this.failures.push({ name: [...path, result.name].join(' > '), diag: result.diag })
      }
    })
  }

  _transform (chunk, encoding, callback) {
    this.parser.write(chunk)
    callback()
  }

  _flush (callback) {
    this.parser.end()
    this.done.then(() => {
      for (const failure of this.failures) {
        this.push(`\nnot ok: ${failure.name}\n`)
        if (failure.diag) this.push(JSON.stringify(failure.diag, null, 2).replace(/^/gm, '    ') + '\n')
      }
      const { pass, fail, skip } = this.counts
      this.push(`\n${pass} passed, ${fail} failed${skip > 0 ? `, ${skip} skipped` : ''}\n`)
      callback()
    }, callback)
  }
}
