import { hash } from 'node:crypto'

/** The `timestamp` field as Easemob writes it into the MD5 input: the decimal digits as sent. */
export function timestampText (timestamp: number | string): string {
  return typeof timestamp === 'number' ? String(timestamp) : timestamp.trim()
}

/**
 * `security = lowercase hex md5(callId + secret + timestamp)`, the signature Easemob puts in every
 * callback body (docs/protocol.md#the-signature). Exported for tests and tools that need to produce signed callbacks.
 */
export function computeSecurity (callId: string, secret: string, timestamp: number | string): string {
  return hash('md5', callId + secret + timestampText(timestamp), 'hex')
}

/**
 * Returns a copy of `callback` signed with `secret`. With `timestamp`, the copy is re-stamped first,
 * which is how a stored sample is made fresh again.
 */
export function signCallback<T extends { callId: string, timestamp?: number | string }> (
  callback: T,
  secret: string,
  timestamp: number | string | undefined = callback.timestamp
): T & { timestamp: number | string, security: string } {
  if (timestamp === undefined) throw new TypeError('signCallback: the callback has no timestamp and none was given')
  return { ...callback, timestamp, security: computeSecurity(callback.callId, secret, timestamp) }
}

const HEX_MD5 = /^[0-9a-fA-F]{32}$/

export type SignatureCheck = 'ok' | 'malformed' | 'mismatch'

/**
 * Compares a lowercase hex digest with a hex string of the same length, whatever its case, in time
 * that does not depend on where they differ: every character is looked at and the differences are
 * OR-ed together. `| 0x20` lowercases A-F and leaves digits as they are. Working on the strings
 * (rather than crypto.timingSafeEqual on Buffers) saves two Buffer allocations per secret.
 */
function sameHex (expected: string, given: string): boolean {
  let difference = 0
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ (given.charCodeAt(i) | 0x20)
  return difference === 0
}

/**
 * Checks `security` against every secret. Every secret is tried even after a match, so that the
 * time taken does not say which rule signed.
 */
export function checkSecurity (
  security: string,
  callId: string,
  timestamp: number | string,
  secrets: readonly string[]
): SignatureCheck {
  if (!HEX_MD5.test(security)) return 'malformed'
  const ts = timestampText(timestamp)
  let matched = false
  for (const secret of secrets) {
    // One-shot crypto.hash: about half the cost of createHash().update().digest() for short input.
    if (sameHex(hash('md5', callId + secret + ts, 'hex'), security)) matched = true
  }
  return matched ? 'ok' : 'mismatch'
}
