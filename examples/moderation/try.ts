// Asks the running moderation example about a few messages, signed and stamped as Easemob does,
// and prints each decision:
//
//   node --import tsx examples/moderation/try.ts [URL]
//
// URL: default http://127.0.0.1:$PORT/pre-send (PORT default 3000). The secret is the first of
// $EASEMOB_SECRETS, else the samples' "test-secret", as the app's.
import { randomInt, randomUUID } from 'node:crypto'
// In your own app: from 'fastify-easemob-callback'
import { signCallback } from 'fastify-easemob-callback'

const url = process.argv[2] ?? `http://127.0.0.1:${process.env.PORT ?? 3000}/pre-send`
const secret = process.env.EASEMOB_SECRETS?.split(',')[0]?.trim() || 'test-secret'

const MESSAGES: Array<[expect: string, from: string, text: string]> = [
  ['pass', 'alice', 'is the build green?'],
  ['block (rule no-scam-links)', 'alice', 'free bitcoin for everyone'],
  ['rewrite (rule no-phone-numbers)', 'alice', 'call me on 13812345678'],
  ['block (mallory is on the blocklist)', 'mallory', 'is the build green?']
]

for (const [expect, from, text] of MESSAGES) {
  // The current docs' form of a pre-send request: the single body as the payload.
  const request = signCallback({
    callId: `acme-corp#chatapp_${randomUUID()}`,
    timestamp: Date.now(),
    chat_type: 'chat',
    from,
    to: 'bob',
    msg_id: `${Date.now()}${randomInt(100_000, 1_000_000)}`,
    payload: { type: 'txt', msg: text }
  }, secret)
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })
  console.log(`${from}: ${JSON.stringify(text)}\n  expected ${expect}; got ${response.status} ${await response.text()}`)
}
