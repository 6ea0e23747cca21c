// Pre-send moderation: Easemob asks this app before delivering each message, and it passes the
// message, blocks it or rewrites it. One `preSend` function composed of two checks: a custom async
// one (senders on a blocklist, looked up as a database or an API would be) and the built-in rules
// file (rules.yaml beside this file: one block rule, one mask rule).
//
//   node --import tsx examples/moderation/app.ts
//
// See README.md beside this file for the settings and how to try it.
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
// In your own app: from 'fastify-easemob-callback'
import easemobCallback, { type PreSendHandler } from 'fastify-easemob-callback'
// The rules file's loader is the service's; the package does not export it (yet), so this path works
// inside this repository only.
import { loadRulesPolicy, type RulesPolicy } from 'fastify-easemob-callback'

export const RULES_FILE = fileURLToPath(new URL('./rules.yaml', import.meta.url))

/** What a blocked sender sees (at most 256 characters). */
export const BLOCKED_SENDER_CODE = 'HX:20001 sender is muted'

/**
 * Senders who may not send for now, and why. A Map and a short wait stand in for a table or a
 * service asked over the network: whatever it is, it must answer well inside the pre-send budget.
 */
export class SenderBlocklist {
  readonly #blocked = new Map<string, string>()

  constructor (entries: Iterable<readonly [string, string]> = []) {
    for (const [user, reason] of entries) this.block(user, reason)
  }

  /** Easemob user IDs are case-insensitive. */
  block (user: string, reason: string): void {
    this.#blocked.set(user.toLowerCase(), reason)
  }

  unblock (user: string): void {
    this.#blocked.delete(user.toLowerCase())
  }

  /** Why `user` may not send, or undefined when they may. */
  async reasonFor (user: string): Promise<string | undefined> {
    await sleep(2)
    return this.#blocked.get(user.toLowerCase())
  }
}

/**
 * The custom check first: a blocked sender is blocked whatever they wrote. Otherwise the rules
 * decide: block (`{valid: false, code}`), rewrite (`{valid: true, payload}`, in the request's own
 * payload form) or pass (`{valid: true}`). `rule` names what decided; it is logged, never sent.
 */
export function composePreSend (blocklist: SenderBlocklist, rules: RulesPolicy): PreSendHandler {
  return async message => {
    const reason = await blocklist.reasonFor(message.from)
    if (reason !== undefined) return { valid: false, code: BLOCKED_SENDER_CODE, rule: `blocklist (${reason})` }
    return rules.decide(message)
  }
}

export interface ModerationAppOptions {
  /** The secret of the Easemob console's pre-send rule. */
  secrets: string | readonly string[]
  /** Default $PRE_SEND_RULES, else rules.yaml beside this file. */
  rulesFile?: string
  /** Default: mallory, muted. */
  blocklist?: SenderBlocklist
  /** Reload the rules when the file is saved or on SIGHUP. Default false. */
  watchRules?: boolean
  /** The plugin's clock, for tests. */
  now?: () => number
  logger?: FastifyServerOptions['logger']
}

/** The app with `POST /pre-send` (and `POST /` for post-send callbacks, answered 200); not listening yet. */
export async function build (options: ModerationAppOptions): Promise<FastifyInstance> {
  // A broken rules file throws here (RulesFileError, every problem listed): the app does not start.
  const rules = await loadRulesPolicy(options.rulesFile ?? process.env.PRE_SEND_RULES ?? RULES_FILE)
  const blocklist = options.blocklist ?? new SenderBlocklist([['mallory', 'reported for spam']])
  const app = Fastify({ logger: options.logger ?? false })
  app.log.info({ file: rules.file, rules: rules.ruleCount }, 'pre-send rules loaded')

  if (options.watchRules === true) {
    const stop = rules.watch({
      onReload: result => result.ok
        ? app.log.info({ trigger: result.trigger, rules: result.rules }, 'pre-send rules reloaded')
        : app.log.error({ trigger: result.trigger, problem: result.error }, 'pre-send rules NOT reloaded; keeping the last good rules')
    })
    app.addHook('onClose', async () => { stop() })
  }

  await app.register(easemobCallback, {
    secrets: options.secrets,
    now: options.now ?? Date.now,
    preSend: composePreSend(blocklist, rules),
    // Easemob waits 200 ms. A decision later than this (a slow lookup), or a check that throws, gets
    // the fallback instead: pass, as the console's own. A replayed callId gets the first decision.
    preSendBudgetMs: 100,
    preSendFallback: 'pass'
  })
  return app
}

async function main (): Promise<void> {
  const port = Number(process.env.PORT ?? 3000)
  const host = process.env.HOST ?? '127.0.0.1'
  const secrets = (process.env.EASEMOB_SECRETS ?? '').split(',').map(secret => secret.trim()).filter(secret => secret !== '')
  if (secrets.length === 0) {
    secrets.push('test-secret')
    console.warn('EASEMOB_SECRETS is not set: accepting callbacks signed with the samples\' "test-secret" (never in production)')
  }
  let app: FastifyInstance
  try {
    app = await build({ secrets, watchRules: true, logger: { level: process.env.LOG_LEVEL ?? 'info' } })
  } catch (error) {
    console.error((error as Error).message)
    process.exit(1)
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
  }
  try {
    await app.listen({ port, host })
  } catch (error) {
    console.error(`cannot listen on ${host}:${port}: ${(error as Error).message}`)
    await app.close()
    process.exit(1)
  }
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  console.log(`
Moderation listening on ${base}/pre-send (the URL of the console's pre-send rule).
Rules: ${process.env.PRE_SEND_RULES ?? RULES_FILE} (saving it reloads them); blocked sender: mallory.
Try it (from the repository root):
  node --import tsx examples/moderation/try.ts          pass, block and rewrite, asked as Easemob asks
  npm run send -- pre-send --url ${base}/               the package's pre-send samples (sent to <url>pre-send)
`)
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) await main()
