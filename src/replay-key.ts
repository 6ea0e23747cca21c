import { createHash } from 'node:crypto'
import type { FanOut } from './store/types.js'

/**
 * Easemob user IDs: at most 64 characters of a-z, A-Z, 0-9, `_`, `-` and `.`, case-insensitive
 * (docs/protocol.md#replays-and-chat_offline).
 */
const USER_ID = /^[A-Za-z0-9_.-]{1,64}$/

export interface ReplayClaim {
  key: string
  fanOut?: FanOut
}

interface Keyed {
  callId: string
  eventType?: unknown
  to?: unknown
}

/**
 * What a callback claims in the replay store. Easemob sends a group message's `chat_offline`
 * callbacks, one per offline member, under one callId with `to` = that member, so those are told
 * apart by recipient. `to` is not signed: only a value that can be an Easemob user ID opens a key
 * of its own, and one callId opens at most `fanOutLimit` of them. `scope` keeps apart claims that
 * must not see each other (stale callbacks from fresh ones).
 */
export function replayClaim (body: Keyed, fanOutLimit: number, scope = ''): ReplayClaim {
  const { eventType, to } = body
  const callId = scope + body.callId
  if (eventType !== 'chat_offline' || typeof to !== 'string' || !USER_ID.test(to)) return { key: callId }
  return { key: `${callId}\u0000${to.toLowerCase()}`, fanOut: { group: callId, limit: fanOutLimit } }
}

/**
 * A replay key as a short, header-safe text (keys may hold `\u0000` and any Unicode): the same
 * for every copy of one callback, so that a backend or a stream can drop the copies.
 */
export function replayKeyDigest (key: string): string {
  return createHash('sha256').update(key).digest('base64url')
}
