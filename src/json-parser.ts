import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { ERR_BAD_JSON, ERR_EMPTY_BODY, ERR_PROTO_POISONING, ERR_UNSUPPORTED_CHARSET } from './errors.js'

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i
const UTF8 = /^utf-?8$/i

/** The declared charset when it is not UTF-8 (the only one Easemob sends and the parser reads). */
function foreignCharset (request: FastifyRequest): string | undefined {
  const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]
  return charset === undefined || UTF8.test(charset) ? undefined : charset
}

/** Fastify's parser says "invalid JSON" for broken text and for a forbidden key alike; tell them apart. */
function ourError (error: FastifyError, text: string): Error {
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new ERR_EMPTY_BODY()
  try {
    JSON.parse(text)
  } catch (parseError) {
    return new ERR_BAD_JSON((parseError as Error).message)
  }
  return new ERR_PROTO_POISONING()
}

/**
 * Fastify's own JSON parser (secure-json-parse, prototype poisoning as an error), registered inside
 * the plugin's encapsulated context so that the host's parsers are neither used nor changed. Only
 * JSON: anything else, or JSON in another charset, is answered 415 rather than read wrongly.
 */
export function useJsonParser (fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    const charset = foreignCharset(request)
    if (charset !== undefined) return done(new ERR_UNSUPPORTED_CHARSET(charset), undefined)
    parse(request, text as string, (error, value) => {
      if (error === null) done(null, value)
      else done(ourError(error as FastifyError, text as string), undefined)
    })
  })
}
