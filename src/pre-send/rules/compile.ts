import { MAX_REPLY_CHARS, type PreSendBody, type PreSendDecision, type PreSendMessage } from '../../schemas/pre-send.js'
import { bodyKind, chatTypeOf, isBodiesPayload, rewritePayload, type ChatType } from '../message.js'
import { WordAutomaton, type HitSink } from './automaton.js'
import { normaliseText, normaliseWord, originalRange, type NormalisedText } from './normalise.js'
import { RULE_MESSAGE_TYPES, type RuleMessageType, type RulesFile, type RuleSpec } from './schema.js'

// Turns a validated rules file into a synchronous pre-send policy.
//
// decide(): only rules whose chatTypes and messageTypes include the message are looked at. One
// Aho–Corasick pass per text finds the words of every rule at once; each rule's patterns (few)
// run on the normalised text. A matching block rule wins (the first in file order); otherwise
// the mask rules that matched rewrite the message in its own payload form; pass rules only name
// themselves and may set chatroom_msg_level. Nothing matched: the shared `{ valid: true }`.

export const DEFAULT_MASK_CHAR = '*'
export const DEFAULT_BLOCK_CODE = 'message blocked'

/** The rules file is valid JSON/YAML of the right shape but says something impossible. */
export class RulesCompileError extends Error {
  constructor (readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'RulesCompileError'
  }
}

export interface CompiledRules {
  /** Synchronous; allocates nothing when no rule matches. */
  decide: (message: PreSendMessage) => PreSendDecision
  readonly ruleCount: number
  /** Distinct words once normalised, over all rules. */
  readonly wordCount: number
}

const CHAT_BIT: Record<ChatType, number> = { chat: 1, group: 2, chatroom: 4 }
const CHAT_INDEX: Record<ChatType, number> = { chat: 0, group: 1, chatroom: 2 }
const SPELLING_BIT: Record<string, number> = { chat: 1, group: 2, groupchat: 2, chatroom: 4 }
const ALL_CHATS = 7

const KIND_INDEX = new Map<string, number>(RULE_MESSAGE_TYPES.map((kind, index) => [kind, index]))
const CMD = KIND_INDEX.get('cmd') as number
const CUSTOM = KIND_INDEX.get('custom') as number
const ALL_KINDS = (1 << RULE_MESSAGE_TYPES.length) - 1
/** Command messages cannot be modified (spec §3.4), so mask rules leave them out by default. */
const MASKABLE_KINDS = ALL_KINDS & ~(1 << CMD)

/** The string fields each kind exposes to matching (custom's ext maps are walked separately). */
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
const FIELDS_BY_INDEX: ReadonlyArray<readonly string[]> = RULE_MESSAGE_TYPES.map(kind => TEXT_FIELDS[kind])

const PASS: PreSendDecision = Object.freeze({ valid: true }) as PreSendDecision

const BLOCK = 0
const MASK = 1
const PASS_ACTION = 2
const ACTION_CODE = { block: BLOCK, mask: MASK, pass: PASS_ACTION } as const

interface Pattern {
  /** Non-global: detection without lastIndex state. */
  test: RegExp
  /** Global: masking enumerates every match. */
  all: RegExp
}

interface ExtPath {
  path: string
  segments: readonly string[]
  /** rules[r] is 1 when rule r lists this path. */
  rules: Uint8Array
  /** Rules listing this path that have patterns, in file order. */
  patternRules: readonly number[]
  /** Chat bits of the rules listing it (to skip paths no rule in scope uses). */
  chats: number
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function valueAt (ext: Record<string, unknown>, segments: readonly string[]): unknown {
  let value: unknown = ext
  for (let i = 0; i < segments.length; i++) {
    if (!isRecord(value)) return undefined
    value = value[segments[i]]
  }
  return value
}

/** A copy of `record` with the string at `segments` replaced; objects along the path are copied. */
function withValueAt (record: Record<string, unknown>, segments: readonly string[], index: number, replacement: string): Record<string, unknown> {
  const key = segments[index]
  const value = index === segments.length - 1 ? replacement : withValueAt(record[key] as Record<string, unknown>, segments, index + 1, replacement)
  return { ...record, [key]: value }
}

function codePointCount (text: string, start: number, end: number): number {
  let count = 0
  for (let i = start; i < end; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0xDC00 && unit <= 0xDFFF && i > start && (text.charCodeAt(i - 1) & 0xFC00) === 0xD800) continue
    count++
  }
  return count
}

/** `text` with every range of `ranges` (flat start,end pairs) replaced by one `maskChar` per code point. */
export function applyMask (text: string, ranges: readonly number[], maskChar: string): string {
  if (ranges.length === 0) return text
  const pairs: Array<[number, number]> = []
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i], ranges[i + 1]])
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let result = ''
  let done = 0
  let start = pairs[0][0]
  let end = pairs[0][1]
  const flush = (): void => {
    result += text.slice(done, start) + maskChar.repeat(codePointCount(text, start, end))
    done = end
  }
  for (let i = 1; i < pairs.length; i++) {
    const [nextStart, nextEnd] = pairs[i]
    if (nextStart <= end) {
      if (nextEnd > end) end = nextEnd
      continue
    }
    flush()
    start = nextStart
    end = nextEnd
  }
  flush()
  return result + text.slice(done)
}

function pathOf (index: number, field: string, item?: number): string {
  return `rules[${index}].${field}${item === undefined ? '' : `[${item}]`}`
}

class RuleSet implements CompiledRules, HitSink {
  readonly ruleCount: number
  readonly wordCount: number

  readonly #names: readonly string[]
  readonly #action: Uint8Array
  readonly #chats: Uint8Array
  readonly #kinds: Uint16Array
  readonly #level: ReadonlyArray<PreSendDecision['chatroom_msg_level']>
  readonly #patterns: ReadonlyArray<readonly Pattern[]>
  readonly #blockDecision: readonly PreSendDecision[]
  readonly #automaton: WordAutomaton | undefined
  /** Rules of each automaton word. */
  readonly #wordRules: ReadonlyArray<readonly number[]>
  /** Rules with patterns, by chat index then kind index, in file order. */
  readonly #patternRules: ReadonlyArray<ReadonlyArray<readonly number[]>>
  /** Kind bits any rule covers, by chat index. */
  readonly #chatKinds: readonly number[]
  readonly #extPaths: readonly ExtPath[]
  readonly #maskChar: string
  readonly #defaultCode: string
  readonly #blockTooLong: boolean

  // Per-call scratch state; decide() is synchronous and never re-entered.
  readonly #matched: Uint8Array
  readonly #touched: Int32Array
  #touchedCount = 0
  #masking = false
  readonly #ranges: number[] = []
  #chatBit = 0
  #chatIndex = 0
  #kindBits = 0
  #extIndex = -1

  constructor (spec: RulesFile, compiled: {
    patterns: Pattern[][]
    chats: number[]
    kinds: number[]
    extPaths: ExtPath[]
    words: string[]
    wordRules: number[][]
  }) {
    const rules = spec.rules
    this.ruleCount = rules.length
    this.#names = rules.map(rule => rule.name)
    this.#action = Uint8Array.from(rules, rule => ACTION_CODE[rule.action])
    this.#chats = Uint8Array.from(compiled.chats)
    this.#kinds = Uint16Array.from(compiled.kinds)
    this.#level = rules.map(rule => rule.chatroomLevel)
    this.#patterns = compiled.patterns
    this.#maskChar = spec.maskChar ?? DEFAULT_MASK_CHAR
    this.#defaultCode = spec.defaultCode ?? DEFAULT_BLOCK_CODE
    this.#blockTooLong = (spec.maskTooLong ?? 'block') === 'block'
    this.#blockDecision = rules.map(rule => Object.freeze({ valid: false, code: rule.code ?? this.#defaultCode, rule: rule.name }) as PreSendDecision)
    this.#automaton = compiled.words.length > 0 ? new WordAutomaton(compiled.words) : undefined
    this.wordCount = compiled.words.length
    this.#wordRules = compiled.wordRules
    this.#extPaths = compiled.extPaths
    this.#patternRules = [0, 1, 2].map(chat => RULE_MESSAGE_TYPES.map((_, kind) => {
      const list: number[] = []
      for (let r = 0; r < rules.length; r++) {
        if ((compiled.chats[r] & (1 << chat)) !== 0 && (compiled.kinds[r] & (1 << kind)) !== 0 && compiled.patterns[r].length > 0) list.push(r)
      }
      return list
    }))
    this.#chatKinds = [0, 1, 2].map(chat => {
      let kinds = 0
      for (let r = 0; r < rules.length; r++) if ((compiled.chats[r] & (1 << chat)) !== 0) kinds |= compiled.kinds[r]
      return kinds
    })
    this.#matched = new Uint8Array(rules.length)
    this.#touched = new Int32Array(rules.length)
  }

  decide = (message: PreSendMessage): PreSendDecision => {
    const chat = chatTypeOf(message)
    const chatIndex = CHAT_INDEX[chat]
    if (this.#chatKinds[chatIndex] === 0) return PASS
    this.#chatBit = CHAT_BIT[chat]
    this.#chatIndex = chatIndex
    try {
      const messageKinds = this.#detect(message)
      if (this.#touchedCount === 0) return PASS
      return this.#verdict(message, messageKinds)
    } finally {
      for (let i = 0; i < this.#touchedCount; i++) this.#matched[this.#touched[i]] = 0
      this.#touchedCount = 0
      this.#masking = false
      this.#ranges.length = 0
    }
  }

  /** Marks the matching rules; returns the kind bits of the message's bodies. */
  #detect (message: PreSendMessage): number {
    const payload = message.payload
    const chatKinds = this.#chatKinds[this.#chatIndex]
    if (!isBodiesPayload(payload)) {
      const kind = KIND_INDEX.get(message.kind ?? bodyKind(payload)) ?? -1
      if (kind !== -1 && (chatKinds & (1 << kind)) !== 0) this.#visitBody(payload, kind)
      return kind === -1 ? 0 : 1 << kind
    }
    let messageKinds = 0
    for (const body of payload.bodies) {
      const kind = KIND_INDEX.get(bodyKind(body)) ?? -1
      if (kind === -1) continue
      messageKinds |= 1 << kind
      if ((chatKinds & (1 << kind)) !== 0) this.#visitBody(body, kind)
    }
    const ext = payload.ext
    if (isRecord(ext) && (chatKinds & messageKinds) !== 0) {
      this.#kindBits = messageKinds
      for (let p = 0; p < this.#extPaths.length; p++) {
        const extPath = this.#extPaths[p]
        if ((extPath.chats & this.#chatBit) === 0) continue
        const value = valueAt(ext, extPath.segments)
        if (typeof value !== 'string' || value.length === 0) continue
        this.#extIndex = p
        this.#detectText(value, extPath.patternRules)
      }
      this.#extIndex = -1
    }
    return messageKinds
  }

  /** Every text of a body, in detection mode. */
  #visitBody (body: PreSendBody, kind: number): void {
    this.#kindBits = 1 << kind
    this.#extIndex = -1
    const record = body as Record<string, unknown>
    const patternRules = this.#patternRules[this.#chatIndex][kind]
    const fields = FIELDS_BY_INDEX[kind]
    for (let i = 0; i < fields.length; i++) {
      const value = record[fields[i]]
      if (typeof value === 'string' && value.length > 0) this.#detectText(value, patternRules)
    }
    if (kind !== CUSTOM) return
    const v2 = record['v2:customExts']
    if (isRecord(v2)) {
      for (const key in v2) {
        const value = v2[key]
        if (typeof value === 'string' && value.length > 0) this.#detectText(value, patternRules)
      }
    }
    const items = record.customExts
    if (Array.isArray(items)) {
      for (const item of items) {
        if (!isRecord(item)) continue
        for (const key in item) {
          const value = item[key]
          if (typeof value === 'string' && value.length > 0) this.#detectText(value, patternRules)
        }
      }
    }
  }

  #inScope (rule: number): boolean {
    if ((this.#chats[rule] & this.#chatBit) === 0 || (this.#kinds[rule] & this.#kindBits) === 0) return false
    return this.#extIndex === -1 || this.#extPaths[this.#extIndex].rules[rule] === 1
  }

  #mark (rule: number): void {
    if (this.#matched[rule] === 1) return
    this.#matched[rule] = 1
    this.#touched[this.#touchedCount++] = rule
  }

  /** HitSink: a word was found at original [start, end). */
  hit (word: number, start: number, end: number): void {
    const rules = this.#wordRules[word]
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]
      if (!this.#inScope(rule)) continue
      if (!this.#masking) this.#mark(rule)
      else if (this.#action[rule] === MASK) this.#ranges.push(start, end)
    }
  }

  #detectText (text: string, patternRules: readonly number[]): void {
    this.#automaton?.scan(text, this)
    let normalised: NormalisedText | undefined
    for (let i = 0; i < patternRules.length; i++) {
      const rule = patternRules[i]
      if (this.#matched[rule] === 1 || !this.#inScope(rule)) continue
      normalised ??= normaliseText(text)
      const patterns = this.#patterns[rule]
      for (let k = 0; k < patterns.length; k++) {
        if (patterns[k].test.test(normalised.text)) {
          this.#mark(rule)
          break
        }
      }
    }
  }

  /** `text` with what the in-scope mask rules find in it masked (the same string if nothing). */
  #maskText (text: string, patternRules: readonly number[]): string {
    this.#ranges.length = 0
    this.#automaton?.scan(text, this)
    let normalised: NormalisedText | undefined
    for (const rule of patternRules) {
      if (this.#action[rule] !== MASK || !this.#inScope(rule)) continue
      normalised ??= normaliseText(text)
      for (const pattern of this.#patterns[rule]) {
        for (const match of normalised.text.matchAll(pattern.all)) {
          if (match[0].length === 0) continue
          const [start, end] = originalRange(normalised, match.index, match.index + match[0].length)
          this.#ranges.push(start, end)
        }
      }
    }
    return applyMask(text, this.#ranges, this.#maskChar)
  }

  #maskBody (body: PreSendBody, kind: number): PreSendBody {
    if ((this.#chatKinds[this.#chatIndex] & (1 << kind)) === 0) return body
    this.#kindBits = 1 << kind
    this.#extIndex = -1
    const patternRules = this.#patternRules[this.#chatIndex][kind]
    const record = body as Record<string, unknown>
    let copy: Record<string, unknown> | undefined
    for (const field of FIELDS_BY_INDEX[kind]) {
      const value = record[field]
      if (typeof value !== 'string' || value.length === 0) continue
      const masked = this.#maskText(value, patternRules)
      if (masked !== value) (copy ??= { ...record })[field] = masked
    }
    if (kind === CUSTOM) {
      const maskValues = (map: Record<string, unknown>): Record<string, unknown> => {
        let result: Record<string, unknown> | undefined
        for (const key in map) {
          const value = map[key]
          if (typeof value !== 'string' || value.length === 0) continue
          const masked = this.#maskText(value, patternRules)
          if (masked !== value) (result ??= { ...map })[key] = masked
        }
        return result ?? map
      }
      const v2 = record['v2:customExts']
      if (isRecord(v2)) {
        const masked = maskValues(v2)
        if (masked !== v2) (copy ??= { ...record })['v2:customExts'] = masked
      }
      const items = record.customExts
      if (Array.isArray(items)) {
        const masked = items.map(item => isRecord(item) ? maskValues(item) : item)
        if (masked.some((item, i) => item !== items[i])) (copy ??= { ...record }).customExts = masked
      }
    }
    return (copy ?? body) as PreSendBody
  }

  #maskExt (ext: Record<string, unknown>, messageKinds: number): Record<string, unknown> {
    let result = ext
    for (let p = 0; p < this.#extPaths.length; p++) {
      const extPath = this.#extPaths[p]
      if ((extPath.chats & this.#chatBit) === 0) continue
      const value = valueAt(ext, extPath.segments)
      if (typeof value !== 'string' || value.length === 0) continue
      this.#kindBits = messageKinds
      this.#extIndex = p
      const masked = this.#maskText(value, extPath.patternRules)
      if (masked !== value) result = withValueAt(result, extPath.segments, 0, masked)
    }
    this.#extIndex = -1
    return result
  }

  #verdict (message: PreSendMessage, messageKinds: number): PreSendDecision {
    const matched = Array.from(this.#touched.subarray(0, this.#touchedCount)).sort((a, b) => a - b)
    const block = matched.find(rule => this.#action[rule] === BLOCK)
    if (block !== undefined) return this.#blockDecision[block]

    const names = matched.map(rule => this.#names[rule]).join(',')
    const decision: PreSendDecision = { valid: true }
    if (matched.some(rule => this.#action[rule] === MASK)) {
      this.#masking = true
      let changed = false
      const payload = rewritePayload(message, body => {
        const kind = KIND_INDEX.get(isBodiesPayload(message.payload) ? bodyKind(body) : message.kind ?? bodyKind(body)) ?? -1
        const masked = kind === -1 ? body : this.#maskBody(body, kind)
        if (masked !== body) changed = true
        return masked
      }, ext => {
        const masked = this.#maskExt(ext, messageKinds)
        if (masked !== ext) changed = true
        return masked
      })
      if (changed) decision.payload = payload
    }
    if (CHAT_INDEX.chatroom === this.#chatIndex) {
      const leveled = matched.find(rule => this.#level[rule] !== undefined)
      if (leveled !== undefined) decision.chatroom_msg_level = this.#level[leveled]
    }
    if (decision.payload !== undefined && this.#blockTooLong) {
      const { valid, payload, chatroom_msg_level: level } = decision
      const length = JSON.stringify(level === undefined ? { valid, payload } : { valid, payload, chatroom_msg_level: level }).length
      if (length > MAX_REPLY_CHARS) {
        return { valid: false, code: this.#defaultCode, rule: `${names} (masked reply of ${length} characters is over Easemob's ${MAX_REPLY_CHARS})` }
      }
    }
    decision.rule = names
    return decision
  }
}

/**
 * Compiles a rules file that already has the RulesFile shape. Throws RulesCompileError listing
 * every problem (path and rule name each): duplicate names, empty words, bad or empty-matching
 * patterns, settings that do not fit the action.
 */
export function compileRules (spec: RulesFile): CompiledRules {
  const problems: string[] = []
  if (spec.maskChar !== undefined && [...spec.maskChar].length !== 1) {
    problems.push(`maskChar: must be exactly one character, got ${JSON.stringify(spec.maskChar)}`)
  }
  const firstByName = new Map<string, number>()
  const patterns: Pattern[][] = []
  const chats: number[] = []
  const kinds: number[] = []
  const words: string[] = []
  const wordIndex = new Map<string, number>()
  const wordRules: number[][] = []
  const extIndex = new Map<string, number>()
  const extRules: number[][] = []

  spec.rules.forEach((rule: RuleSpec, index) => {
    const label = (field: string, item?: number): string => `${pathOf(index, field, item)} (rule ${JSON.stringify(rule.name)})`
    const first = firstByName.get(rule.name)
    if (first !== undefined) problems.push(`${pathOf(index, 'name')}: duplicate rule name ${JSON.stringify(rule.name)} (first at rules[${first}])`)
    else firstByName.set(rule.name, index)

    if (rule.code !== undefined && rule.action !== 'block') problems.push(`${label('code')}: only block rules have a code`)
    if (rule.chatroomLevel !== undefined && rule.action === 'block') problems.push(`${label('chatroomLevel')}: a blocked message is not delivered; use it on mask or pass rules`)
    if (rule.action === 'mask' && rule.messageTypes?.includes('cmd') === true) problems.push(`${label('messageTypes')}: command messages cannot be modified (spec §3.4), so a mask rule cannot cover cmd`)
    if ((rule.words ?? []).length === 0 && (rule.patterns ?? []).length === 0) problems.push(`${label('words')}: the rule has neither words nor patterns`)

    let chatBits = 0
    for (const spelling of rule.chatTypes ?? []) chatBits |= SPELLING_BIT[spelling]
    chats.push(rule.chatTypes === undefined ? ALL_CHATS : chatBits)
    let kindBits = 0
    for (const kind of rule.messageTypes ?? []) kindBits |= 1 << (KIND_INDEX.get(kind) as number)
    kinds.push(rule.messageTypes === undefined ? (rule.action === 'mask' ? MASKABLE_KINDS : ALL_KINDS) : kindBits)

    ;(rule.words ?? []).forEach((word, item) => {
      const normalised = normaliseWord(word)
      if (normalised.length === 0) {
        problems.push(`${label('words', item)}: ${word === '' ? 'empty word' : `word ${JSON.stringify(word)} is empty once normalised`}`)
        return
      }
      let at = wordIndex.get(normalised)
      if (at === undefined) {
        at = words.length
        wordIndex.set(normalised, at)
        words.push(word)
        wordRules.push([])
      }
      const list = wordRules[at]
      if (list[list.length - 1] !== index) list.push(index)
    })

    const compiled: Pattern[] = []
    ;(rule.patterns ?? []).forEach((source, item) => {
      let test: RegExp
      try {
        test = new RegExp(source, 'iu')
      } catch (error) {
        problems.push(`${label('patterns', item)}: invalid regular expression ${JSON.stringify(source)}: ${(error as Error).message}`)
        return
      }
      if (test.test('')) {
        problems.push(`${label('patterns', item)}: ${JSON.stringify(source)} matches the empty string, so it would match every message`)
        return
      }
      compiled.push({ test, all: new RegExp(source, 'giu') })
    })
    patterns.push(compiled)

    ;(rule.ext ?? []).forEach((path, item) => {
      if (path.split('.').some(segment => segment === '')) {
        problems.push(`${label('ext', item)}: ${JSON.stringify(path)} is not a dotted path of ext keys`)
        return
      }
      let at = extIndex.get(path)
      if (at === undefined) {
        at = extRules.length
        extIndex.set(path, at)
        extRules.push([])
      }
      if (!extRules[at].includes(index)) extRules[at].push(index)
    })
  })
  if (problems.length > 0) throw new RulesCompileError(problems)

  const extPaths: ExtPath[] = [...extIndex].map(([path, at]) => {
    const rules = new Uint8Array(spec.rules.length)
    let chatBits = 0
    for (const rule of extRules[at]) {
      rules[rule] = 1
      chatBits |= chats[rule]
    }
    return {
      path,
      segments: path.split('.'),
      rules,
      patternRules: extRules[at].filter(rule => patterns[rule].length > 0),
      chats: chatBits
    }
  })
  return new RuleSet(spec, { patterns, chats, kinds, extPaths, words, wordRules })
}
