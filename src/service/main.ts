#!/usr/bin/env node
import { buildService } from './app.js'
import { RulesFileError } from '../presend/rules/index.js'
import { ConfigError, loadConfig } from './config.js'

let config
try {
  config = loadConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`fastify-easemob-callback: ${error.message}\n`)
  process.exit(1)
}

let app
try {
  app = await buildService(config)
} catch (error) {
  if (!(error instanceof RulesFileError)) throw error
  process.stderr.write(`fastify-easemob-callback: ${error.message}\n`)
  process.exit(1)
}

// Stop accepting, let in-flight callbacks finish (Fastify's close waits for them), then exit.
let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: finishing in-flight callbacks')
    app.close().then(() => process.exit(0), (error: unknown) => {
      app.log.error({ err: error }, 'error while shutting down')
      process.exit(1)
    })
  })
}

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  app.log.fatal({ err: error }, 'could not listen')
  process.exit(1)
}
