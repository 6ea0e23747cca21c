#!/usr/bin/env node
// The standalone service: `npm start`, or `node dist/service/main.js` in the container.
import { RulesFileError } from '../src/pre-send/rules/index.js'
import { buildService } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { loggerOptions, stdoutDestination } from './logger.js'
import { gracefulShutdown } from './shutdown.js'

function fail (message: string): never {
  process.stderr.write(`fastify-easemob-callback: ${message}\n`)
  process.exit(1)
}

const warnings: string[] = []
let config
try {
  config = loadConfig(process.env, warnings)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  fail(error.message)
}

const destination = process.stdout.isTTY === true ? undefined : stdoutDestination()
let app
try {
  app = await buildService(config, { logger: loggerOptions(config, destination) })
} catch (error) {
  if (!(error instanceof RulesFileError)) throw error
  fail(error.message)
}
for (const warning of warnings) app.log.warn(warning)

const stop = gracefulShutdown(app, config.shutdownTimeoutMs)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    stop(signal).then(code => {
      destination?.flushSync()
      process.exit(code)
    }, () => process.exit(1))
  })
}

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  app.log.fatal({ err: error }, 'could not listen')
  destination?.flushSync()
  process.exit(1)
}
