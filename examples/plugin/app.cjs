// The README's plugin example in plain JavaScript, as CommonJS. The package is an ES module;
// Node.js >= 20.19 loads it with require(), which returns its namespace: the plugin is
// `.easemobCallback` (or `.default`), beside the other named exports. No top-level await here:
// `register` queues the plugin, and `listen` (or `inject`, `ready`) waits for it.
const Fastify = require('fastify')
const { easemobCallback } = require('fastify-easemob-callback')

const app = Fastify({ logger: true })
app.get('/', async () => ({ hello: 'world' }))

app.register(easemobCallback, {
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
if (process.env.NODE_ENV !== 'test') app.listen({ port: 3000 })

module.exports = app
