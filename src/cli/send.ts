#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { classify } from '../classify.js'
import { loadSamples, restamp, type SampleBody } from '../samples.js'

const USAGE = `usage: easemob-callback-send [NAME|KIND|all ...] [options]

Sends the built-in Easemob callback samples, re-stamped now and signed, to a receiver.
NAME is a sample file name (post_chat_txt), KIND a handler kind (txt, group_op, ...).

  --url URL        where to POST (default http://127.0.0.1:8081/, or $EASEMOB_CALLBACK_URL)
  --secret SECRET  signing secret (default the first of $EASEMOB_SECRETS, else test-secret)
  --print          print the signed body instead of sending it
  --list           list the sample names and their kinds
  -h, --help       this text`

function kindOf (name: string, sample: SampleBody): string {
  return name.startsWith('pre_send') ? 'pre-send' : classify(sample).kind
}

function pick (names: string[], samples: ReadonlyMap<string, SampleBody>): Array<[string, SampleBody]> {
  if (names.length === 0 || names.includes('all')) return [...samples].filter(([name]) => name.startsWith('post_') || name.startsWith('legacy_'))
  const chosen: Array<[string, SampleBody]> = []
  for (const name of names) {
    const exact = samples.get(name)
    const byKind = [...samples].filter(([sample, body]) => !sample.startsWith('pre_send') && kindOf(sample, body) === name)
    if (exact !== undefined) chosen.push([name, exact])
    else if (byKind.length > 0) chosen.push(byKind[0])
    else throw new Error(`no sample or kind named "${name}"; try --list`)
  }
  return chosen
}

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.EASEMOB_CALLBACK_URL ?? 'http://127.0.0.1:8081/' },
      secret: { type: 'string', default: process.env.EASEMOB_SECRETS?.split(',')[0]?.trim() || 'test-secret' },
      print: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { console.log(USAGE); return 0 }
  const samples = loadSamples()
  if (values.list) {
    for (const [name, body] of samples) console.log(`${name.padEnd(40)} ${kindOf(name, body)}`)
    return 0
  }
  let failures = 0
  for (const [name, sample] of pick(positionals, samples)) {
    const body = JSON.stringify(restamp(sample, values.secret))
    if (values.print) { console.log(body); continue }
    const response = await fetch(values.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const text = await response.text()
    if (response.status !== 200) failures++
    console.log(`${name.padEnd(40)} ${response.status} ${text}`)
  }
  return failures === 0 ? 0 : 1
}

main().then(code => { process.exitCode = code }, (error: unknown) => {
  console.error(`easemob-callback-send: ${(error as Error).message}`)
  process.exitCode = 2
})
