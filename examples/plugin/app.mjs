// The README's plugin example in plain JavaScript, as an ES module (examples/plugin/app.ts is the
// TypeScript one). `node app.mjs` listens on :3000; with NODE_ENV=test it only builds the app,
// for `app.inject()`.
import Fastify from 'fastify'
import easemobCallback from 'fastify-easemob-callback'

export const app = Fastify({ logger: true })
app.get('/', async () => ({ hello: 'world' }))

await app.register(easemobCallback, {
  prefix: '/easemob',
  secrets: ['rule-secret', 'old-secret'],
  handlers: {
    txt: async (event, { log }) => {
      log.info({ from: event.from, text: event.payload.bodies[0]?.msg }, 'text message')
    },
    group_op: (event) => { if (event.operation === 'JOIN') console.log(event.payload?.member) },
    message: (event) => { console.log(event.kind, event.msg_id) },
    '*': (event) => { console.log(event.callId) }
  }
})
if (process.env.NODE_ENV !== 'test') await app.listen({ port: 3000 })
