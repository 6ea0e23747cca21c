import Fastify from 'fastify'
import easemobCallback from 'fastify-easemob-callback'

export const app = Fastify({ logger: true })
app.get('/', async () => ({ hello: 'world' }))      // your own routes stay as they are

await app.register(easemobCallback, {
  prefix: '/easemob',                                // POST /easemob/ receives post-send callbacks
  secrets: ['rule-secret', 'old-secret'],            // one per console rule; several for rotation
  handlers: {
    txt: async (event, { log }) => {                 // event: the callback as sent, typed, plus kind
      log.info({ from: event.from, text: event.payload.bodies[0]?.msg }, 'text message')
    },
    group_op: (event) => { if (event.operation === 'JOIN') console.log(event.payload?.member) },
    message: (event) => { console.log(event.kind, event.msg_id) }, // every chat message
    '*': (event) => { console.log(event.callId) }                   // everything
  }
})
if (process.env.NODE_ENV !== 'test') await app.listen({ port: 3000 }) // tests: app.inject()
