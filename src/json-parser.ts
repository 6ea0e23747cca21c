import type { FastifyInstance } from 'fastify'
import sjson from 'secure-json-parse'
import { ERR_BAD_JSON, ERR_EMPTY_BODY, ERR_PROTO_POISONING } from './errors.js'

const SUSPECT_KEY = /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"|"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"/
function mayHideKey (raw: string): boolean {
  return raw.includes('__proto__') || raw.includes('constructor') || raw.includes('\\u')
}

const SCAN = { protoAction: 'error', constructorAction: 'error' } as const

/**
 * The plugin's own JSON parser, registered inside its encapsulated context so that the host's
 * parser is neither used nor changed. Each failure has its own error code and message.
 */
export function useJsonParser (fastify: FastifyInstance): void {
  // Only JSON: Easemob never sends anything else, and a text body must get 415, not a confusing 400.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    const raw = text as string
    if (raw.length === 0) return done(new ERR_EMPTY_BODY(), undefined)
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (error) {
      return done(new ERR_BAD_JSON((error as Error).message), undefined)
    }
    // The full scan costs a walk of the object; only a body whose text names a dangerous key needs
    // it. The plain substring checks let the common body (no key spelled with \u escapes) skip
    // even the regular expression.
    if (mayHideKey(raw) && SUSPECT_KEY.test(raw)) {
      try {
        sjson.scan(value as Record<string, unknown>, SCAN)
      } catch {
        return done(new ERR_PROTO_POISONING(), undefined)
      }
    }
    done(null, value)
  })
}
