// The README's plugin example in TypeScript for a CommonJS project ("type": "commonjs", or this
// .cts extension) with the options `tsc --init` writes ("module": "nodenext",
// "verbatimModuleSyntax": true): there, imports are `import … = require()` and the export is
// `export =`, and there is no top-level await. The package is an ES module that Node.js >= 20.19
// loads with require(); TypeScript types it as its namespace: the plugin is `.easemobCallback`.
import Fastify = require('fastify')
import easemob = require('fastify-easemob-callback')

const app = Fastify({ logger: true })
app.get('/', async () => ({ hello: 'world' }))

app.register(easemob.easemobCallback, {
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

export = app
