// `--file F`: a callback body of the user's own, read from a file or stdin and checked before anything is sent.
import { readFile } from 'node:fs/promises'
import { text } from 'node:stream/consumers'
import type { SampleBody } from '../samples.js'

/**
 * The JSON object in `path` (`-`: stdin). Refused, with the path and the reason, when it cannot be
 * read, is not JSON, or is not an object with a non-empty string `callId`; its timestamp and
 * signature need not be right, since the sender re-stamps and signs it.
 */
export async function readBodyFile (path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<SampleBody> {
  let source: string
  try {
    source = path === '-' ? await text(stdin) : await readFile(path, 'utf8')
  } catch (error) {
    throw new Error(`--file ${path}: cannot read it: ${(error as Error).message}`)
  }
  let body: unknown
  try {
    body = JSON.parse(source.replace(/^\uFEFF/, ''))
  } catch (error) {
    throw new Error(`--file ${path}: not JSON: ${(error as Error).message}`)
  }
  const callId = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).callId : undefined
  if (Array.isArray(body) || typeof callId !== 'string' || callId === '') {
    throw new Error(`--file ${path}: not a callback body: expected a JSON object with a "callId" string`)
  }
  return body as SampleBody
}
