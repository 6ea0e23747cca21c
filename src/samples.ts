import { randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signCallback } from './signature.js'

export type SampleBody = Record<string, unknown> & { callId: string, timestamp: number | string }

/**
 * The package's `samples/` folder: one request per shape of the spec, signed with `test-secret`
 * at a fixed 2025 date. Found by walking up from this file, so it works from `src/` and `dist/`.
 */
export function samplesDir (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'samples')
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error('samples/ folder not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
}

let cache: Map<string, SampleBody> | undefined

/** Every request sample by file name without `.json` (responses, `pre_send_response_*`, are left out). */
export function loadSamples (): ReadonlyMap<string, SampleBody> {
  if (cache !== undefined) return cache
  const dir = samplesDir()
  cache = new Map()
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json') || file.startsWith('pre_send_response_')) continue
    cache.set(file.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, file), 'utf8')) as SampleBody)
  }
  return cache
}

export interface RestampOptions {
  /** New timestamp in ms; default now. */
  timestamp?: number
  /** New callId; default the sample's callId with a random suffix, so that it is not a duplicate. */
  callId?: string
}

/** A sample made fresh: new timestamp and callId, signed with `secret`. */
export function restamp (sample: SampleBody, secret: string, options: RestampOptions = {}): SampleBody & { security: string } {
  const callId = options.callId ?? `${sample.callId}-${randomUUID().slice(0, 8)}`
  return signCallback({ ...sample, callId }, secret, options.timestamp ?? Date.now())
}
