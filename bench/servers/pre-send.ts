// Pre-send benchmark server: the service's pre-send path with a rules file (MODE=rules, RULES=path)
// or the same plugin with a policy that always answers {"valid": true} (MODE=pass). Prints its port.
import Fastify, { LogController } from 'fastify'
import easemobCallback from '../../src/index.js'
import { loadRulesPolicy } from '../../src/presend/rules/index.js'

const rules = process.env.MODE === 'rules' ? await loadRulesPolicy(process.env.RULES as string) : undefined
const app = Fastify({ logger: { level: 'info' }, logController: new LogController({ disableRequestLogging: true }) })
await app.register(easemobCallback, {
  secrets: ['test-secret'],
  preSend: rules?.decide ?? (() => ({ valid: true }))
})
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
process.stderr.write(`PORT ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
process.on('message', () => { void app.close().then(() => process.exit(0)) })
