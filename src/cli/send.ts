#!/usr/bin/env node
// `easemob-callback-send` (and `easemob-callback send`): signs callback bodies, the built-in samples
// or the user's own, and POSTs them to a receiver's post-send or pre-send route.
import { parseArgs } from 'node:util'
import { restamp } from '../samples.js'
import { readBodyFile } from './body-file.js'
import { type Answer, decision, parsed, post, routeUrl, Unreachable } from './post.js'
import { allSamples, describe, selectSamples, type Outgoing } from './selection.js'

const USAGE = `usage: easemob-callback-send [NAME|KIND|all|pre-send ...] [--file F ...] [options]

Signs Easemob callbacks and POSTs them to a receiver. Each body is re-stamped now (a fresh
timestamp and, unless --keep-callid, a fresh callId suffix), so that the receiver takes it as
neither stale nor a duplicate, and signed with --secret.

What to send (default: all, unless --file is given; each sample once, in the order asked):
  NAME             one sample, by file name (post_chat_txt, pre_send_txt; see --list)
  KIND             every sample of that handler kind (txt, group_op, user_status, ...)
  all              every post-send sample
  pre-send         every pre-send sample
  --file F         a body of your own: a JSON object with a "callId" (F = -: stdin); repeatable;
                   sent after the samples
  --pre-send       send the --file bodies to the pre-send route

Where: post-send callbacks to --url; pre-send samples (and --pre-send files) to the pre-send
route, <url>pre-send (http://127.0.0.1:8081/pre-send), each answer shown with its decision:
pass, modify or block <code>.

Options:
  --url URL        the post-send route (default $EASEMOB_CALLBACK_URL, else
                   http://127.0.0.1:$PORT/ with PORT defaulting to 8081)
  --secret SECRET  signing secret (default the first of $EASEMOB_SECRETS, else test-secret)
  --keep-callid    keep each body's callId as it is (to try the receiver's duplicate check)
  --timeout MS     how long to wait for each answer (default 10000)
  --print          print the signed bodies, one per line, instead of sending them
  --list           list the samples: name, kind, route
  --json           one JSON object per line and nothing else on stdout: sent
                   {"name","kind","url","status","body"} (body parsed when JSON), printed
                   {"name","kind","url","body"}, listed {"name","kind","route"}, not sent
                   {"name","url","error"}
  -h, --help       this text

Exit codes: 0 every callback answered 200; 1 some answered otherwise; 2 a usage error or a
refused --file (nothing sent); 3 the receiver could not be reached (or did not answer within
--timeout): the message names the URL and the cause, and the run stops there.`

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.EASEMOB_CALLBACK_URL || `http://127.0.0.1:${process.env.PORT || '8081'}/` },
      secret: { type: 'string', default: process.env.EASEMOB_SECRETS?.split(',')[0]?.trim() || 'test-secret' },
      file: { type: 'string', multiple: true, default: [] },
      'pre-send': { type: 'boolean', default: false },
      'keep-callid': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '10000' },
      print: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { console.log(USAGE); return 0 }
  const out = (json: object, text: string): void => { console.log(values.json ? JSON.stringify(json) : text) }
  if (values.list) {
    for (const { name, kind, route } of allSamples()) out({ name, kind, route }, `${name.padEnd(40)} ${kind.padEnd(14)} ${route}`)
    return 0
  }

  // Everything is checked before anything is sent: a bad argument or file sends nothing.
  let url: URL
  try {
    url = new URL(values.url)
  } catch {
    throw new Error(`--url must be an http(s) URL, got ${JSON.stringify(values.url)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must be an http(s) URL, got ${JSON.stringify(values.url)}`)
  const timeoutMs = Number(values.timeout)
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error(`--timeout must be a positive integer of ms, got ${JSON.stringify(values.timeout)}`)
  const files = values.file
  if (files.filter(file => file === '-').length > 1) throw new Error('--file - (stdin) can be given once')
  if (values['pre-send'] && files.length === 0) throw new Error('--pre-send applies to --file bodies; to send the pre-send samples, name them or say pre-send')
  const selectors = positionals.length === 0 && files.length === 0 ? ['all'] : positionals
  const outgoing: Outgoing[] = selectSamples(selectors)
  for (const file of files) {
    outgoing.push(describe(file === '-' ? 'stdin' : file, await readBodyFile(file), values['pre-send'] ? 'pre-send' : 'post-send'))
  }

  let failures = 0
  for (const { name, kind, route, body } of outgoing) {
    const target = routeUrl(url, route)
    const options = values['keep-callid'] ? { callId: body.callId } : {}
    const signed = JSON.stringify(restamp(body, values.secret, options))
    if (values.print) {
      out({ name, kind, url: target.href, body: JSON.parse(signed) as unknown }, signed)
      continue
    }
    let answer: Answer
    try {
      answer = await post(target, signed, timeoutMs)
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error
      if (values.json) console.log(JSON.stringify({ name, url: target.href, error: error.message }))
      console.error(`easemob-callback-send: ${error.message}`)
      return 3
    }
    if (answer.status !== 200) failures++
    const reply = parsed(answer.text)
    const said = route === 'pre-send' && answer.status === 200 ? `${decision(reply)} ` : ''
    out({ name, kind, url: target.href, status: answer.status, body: reply }, `${name.padEnd(40)} ${answer.status} ${said}${answer.text}`)
  }
  return failures === 0 ? 0 : 1
}

// `easemob-callback-send --list | head`: a reader that has had enough is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
  process.exit(process.exitCode ?? 0)
})

main().then(code => { process.exitCode = code }, (error: unknown) => {
  console.error(`easemob-callback-send: ${(error as Error).message}`)
  process.exitCode = 2
})
