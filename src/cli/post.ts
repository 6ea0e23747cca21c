// The sender's HTTP side: where each route is, one POST, and what went wrong when it went nowhere.
import type { Route } from './selection.js'

/** The URL of `route`, given the post-send route's: the pre-send route is `<url>pre-send`. */
export function routeUrl (url: URL, route: Route): URL {
  if (route === 'post-send') return url
  const target = new URL(url)
  target.pathname = `${url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`}pre-send`
  return target
}

export interface Answer {
  status: number
  text: string
}

/** The receiver did not answer: refused, unresolvable, reset, or too slow. */
export class Unreachable extends Error {}

function describeCause (error: unknown): string {
  const cause = (error instanceof Error && error.cause !== undefined ? error.cause : error) as Error & { code?: unknown, errors?: unknown }
  let message = cause instanceof Error ? cause.message : String(cause)
  // Several addresses tried (localhost: ::1 and 127.0.0.1): an AggregateError with one error each.
  if (message === '' && Array.isArray(cause.errors)) message = cause.errors.map(one => (one as Error).message).join('; ')
  const code = typeof cause.code === 'string' ? cause.code : undefined
  if (code === undefined) return message || 'unknown error'
  return message === '' || message.includes(code) ? (message || code) : `${code}: ${message}`
}

/** POSTs `body` as JSON to `url` and reads the answer; throws `Unreachable` when none came within `timeoutMs`. */
export async function post (url: URL, body: string, timeoutMs: number): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs)
    })
    return { status: response.status, text: await response.text() }
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') throw new Unreachable(`no answer from ${url.href} within ${timeoutMs} ms`)
    throw new Unreachable(`cannot reach ${url.href}: ${describeCause(error)}`)
  }
}

/** The answer's body: parsed when it is JSON, else the text. */
export function parsed (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A pre-send reply in a word: `pass`, `modify` (a new payload), `block <code>`; `?` when it is no reply. */
export function decision (reply: unknown): string {
  if (typeof reply !== 'object' || reply === null || typeof (reply as { valid?: unknown }).valid !== 'boolean') return '?'
  const { valid, code, payload } = reply as { valid: boolean, code?: unknown, payload?: unknown }
  if (!valid) return typeof code === 'string' ? `block ${code}` : 'block'
  return payload === undefined ? 'pass' : 'modify'
}
