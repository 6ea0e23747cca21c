import { Webhook } from 'standardwebhooks'
import type { CallbackHandler } from '../index.js'
import type { CallbackEvent } from '../src/schemas/kinds.js'
import { replayClaim, replayKeyDigest } from '../src/replay-key.js'

export interface ForwarderOptions {
  url: string
  /** A Standard Webhooks secret: `whsec_` and base64. */
  secret: string
  timeoutMs: number
}

/** Seconds or an HTTP date, as Retry-After may say; in ms from now. */
export function retryAfterMs (header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * The same id for every attempt at one callback, so that the backend can deduplicate: derived
 * from the replay key (the callId, and the recipient for a `chat_offline` copy).
 */
export function webhookId (event: CallbackEvent): string {
  return `msg_${replayKeyDigest(replayClaim(event, Number.POSITIVE_INFINITY).key).slice(0, 32)}`
}

/**
 * The `http` sink: POSTs each callback, as the verified event with its `kind`, to the user's
 * backend, signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature), so
 * that any of that standard's libraries verifies it. A 2xx is delivered; anything else throws,
 * with the backend's Retry-After when it gave one, and the outbox retries.
 */
export function forwarder ({ url, secret, timeoutMs }: ForwarderOptions): CallbackHandler<CallbackEvent> {
  const webhook = new Webhook(secret)
  return async function forward (event) {
    const body = JSON.stringify(event)
    const id = webhookId(event)
    const sentAt = new Date()
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'fastify-easemob-callback',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': webhook.sign(id, sentAt, body)
        },
        body,
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      throw new Error(`POST ${url} failed: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`)
    }
    await response.arrayBuffer().catch(() => {})
    if (!response.ok) {
      throw Object.assign(new Error(`POST ${url} answered ${response.status}`), { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) })
    }
  }
}
