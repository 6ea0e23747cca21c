import type { PreSendBody } from '../../schemas/pre-send.js'
import { KIND_INDEX } from './scope.js'
import { RULE_MESSAGE_TYPES, type RuleMessageType } from './schema.js'

// Where a pre-send message keeps the texts that rules read, and how to replace one without
// touching the request: every change is made on copies, and what does not change is shared.

/** Reads one text and returns it, or what should replace it. */
export interface TextReader {
  read: (text: string) => string
}

/** The string fields each kind exposes to matching (custom's ext maps are walked as well). */
const TEXT_FIELDS: Record<RuleMessageType, readonly string[]> = {
  txt: ['msg'],
  img: ['filename'],
  audio: ['filename'],
  video: ['filename'],
  file: ['filename'],
  loc: ['addr'],
  cmd: ['action', 'msg'],
  custom: ['customEvent'],
  combine: ['title', 'summary', 'msg']
}
const FIELDS_BY_KIND: ReadonlyArray<readonly string[]> = RULE_MESSAGE_TYPES.map(kind => TEXT_FIELDS[kind])
const CUSTOM = KIND_INDEX.get('custom') as number

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `body` (of kind index `kind`) with each non-empty text replaced by what `reader` makes of it; `body` itself if that changes nothing. */
export function readBodyTexts (body: PreSendBody, kind: number, reader: TextReader): PreSendBody {
  const record = body as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  const fields = FIELDS_BY_KIND[kind]
  for (let i = 0; i < fields.length; i++) {
    const value = record[fields[i]]
    if (typeof value !== 'string' || value.length === 0) continue
    const read = reader.read(value)
    if (read !== value) (copy ??= { ...record })[fields[i]] = read
  }
  if (kind === CUSTOM) {
    const v2 = record['v2:customExts']
    if (isRecord(v2)) {
      const read = readValues(v2, reader)
      if (read !== v2) (copy ??= { ...record })['v2:customExts'] = read
    }
    const items = record.customExts
    if (Array.isArray(items)) {
      let list: unknown[] | undefined
      for (let i = 0; i < items.length; i++) {
        const item: unknown = items[i]
        if (!isRecord(item)) continue
        const read = readValues(item, reader)
        if (read !== item) (list ??= items.slice())[i] = read
      }
      if (list !== undefined) (copy ??= { ...record }).customExts = list
    }
  }
  return (copy ?? body) as PreSendBody
}

function readValues (map: Record<string, unknown>, reader: TextReader): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined
  for (const key in map) {
    const value = map[key]
    if (typeof value !== 'string' || value.length === 0) continue
    const read = reader.read(value)
    if (read !== value) (copy ??= { ...map })[key] = read
  }
  return copy ?? map
}

/** The value at a dotted ext path, split into `segments`; undefined through anything but objects. */
export function valueAt (ext: Record<string, unknown>, segments: readonly string[]): unknown {
  let value: unknown = ext
  for (let i = 0; i < segments.length; i++) {
    if (!isRecord(value)) return undefined
    value = value[segments[i]]
  }
  return value
}

/** A copy of `record` with the value at `segments` replaced; the objects along the path are copied. */
export function withValueAt (record: Record<string, unknown>, segments: readonly string[], replacement: string, index = 0): Record<string, unknown> {
  const key = segments[index]
  const value = index === segments.length - 1 ? replacement : withValueAt(record[key] as Record<string, unknown>, segments, replacement, index + 1)
  return { ...record, [key]: value }
}
