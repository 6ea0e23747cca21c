// Compile-time checks of the public types (run by `npm run typecheck`), plus a run-time smoke test.
import Fastify from 'fastify'
import t from 'tap'
import easemobCallback, { type CallbackEvent, type MessageEvent, type PreSendMessage, bodiesOf, rewritePayload } from '../index.js'
import { NOW, post, sample, SECRET, signed } from './helpers/callbacks.js'

t.test('handlers get events typed from the schemas', async t => {
  const texts: string[] = []
  const app = Fastify()
  await app.register(easemobCallback, {
    prefix: '/easemob',
    secrets: [SECRET],
    now: () => NOW,
    handlers: {
      txt: event => {
        const kind: 'txt' = event.kind
        const text: string = event.payload.bodies[0].msg
        texts.push(`${kind}:${text}`)
      },
      group_op: event => {
        const members: string[] | undefined = event.payload?.member
        const operation: string = event.operation
        void members
        void operation
      },
      message: (event: MessageEvent) => {
        if (event.kind === 'loc') {
          const lat: number | string = event.payload.bodies[0].lat
          void lat
        }
      },
      '*': (event: CallbackEvent) => {
        const callId: string = event.callId
        void callId
      }
    },
    preSend: (message: PreSendMessage) => {
      const first = bodiesOf(message)[0]
      if (first.type === 'txt' && 'msg' in first && typeof first.msg === 'string') {
        return { valid: true, payload: rewritePayload(message, body => ({ ...body, msg: 'x' })) }
      }
      return { valid: true }
    }
  })
  const response = await post(app, signed(sample('post_chat_txt')), '/easemob/')
  t.equal(response.statusCode, 200)
  t.same(texts, ['txt:hello bob, lunch at noon?'])
})
