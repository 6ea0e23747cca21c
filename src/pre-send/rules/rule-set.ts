import { MAX_REPLY_CHARS, type PreSendBody, type PreSendDecision, type PreSendMessage } from '../../schemas/pre-send.js'
import { bodyKind, chatTypeOf, isBodiesPayload, rewritePayload } from '../message.js'
import { WordAutomaton, type HitSink } from './automaton.js'
import type { CompiledRule, CompiledRules } from './compile.js'
import { applyMask } from './mask.js'
import { isRecord, readBodyTexts, valueAt, withValueAt, type TextReader } from './message-texts.js'
import { normaliseText, originalRange, type NormalisedText } from './normalise.js'
import { RULE_MESSAGE_TYPES } from './schema.js'
import { CHAT_INDEX, KIND_INDEX } from './scope.js'

// decide() for a compiled rules file. Only rules whose chat and message types include the message
// are looked at. One Aho–Corasick pass per text finds the words of every rule at once; each rule's
// patterns (few) run on the normalised text. A matching block rule wins (the first in file order);
// otherwise the mask rules that matched rewrite the message in its own payload form; pass rules
// only name themselves and may set chatroom_msg_level. Nothing matched: the shared `{ valid: true }`.
//
// A message's texts are read once to find the rules that match and, only when a mask rule matched
// and no block rule did, once more to mask them. Most messages get the first read alone, so it
// allocates nothing: what it needs to know about the text in hand (chat, kind, ext path, rules to
// try) is kept in fields that every call reuses.

export interface RuleSetOptions { maskChar: string, defaultCode: string, blockTooLong: boolean }

interface ExtPath {
  readonly segments: readonly string[]
  /** rules[r] is 1 when rule r lists this path. */
  readonly rules: Uint8Array
  /** Rules listing this path that have patterns, in file order. */
  readonly patternRules: readonly number[]
  /** Chat bits of the rules listing it (to skip paths no rule in scope uses). */
  readonly chats: number
}

const PASS: PreSendDecision = Object.freeze({ valid: true }) as PreSendDecision
const BLOCK = 0
const MASK = 1
const ACTION_CODE = { block: BLOCK, mask: MASK, pass: 2 } as const

export class RuleSet implements CompiledRules, HitSink, TextReader {
  readonly ruleCount: number
  readonly wordCount: number

  // By rule index (file order); the typed arrays are what the hot path reads.
  readonly #rules: readonly CompiledRule[]
  readonly #action: Uint8Array
  readonly #chats: Uint8Array
  readonly #kinds: Uint16Array
  readonly #blockDecision: readonly PreSendDecision[]
  readonly #automaton: WordAutomaton | undefined
  /** Rules of each automaton word. */
  readonly #wordRules: ReadonlyArray<readonly number[]>
  /** Rules with patterns, by chat index then kind index, in file order. */
  readonly #patternRules: ReadonlyArray<ReadonlyArray<readonly number[]>>
  /** Kind bits any rule covers, by chat index. */
  readonly #chatKinds: readonly number[]
  readonly #extPaths: readonly ExtPath[]
  readonly #options: RuleSetOptions

  // Per-call scratch state; decide() is synchronous and never re-entered.
  readonly #matched: Uint8Array
  readonly #touched: Int32Array
  #touchedCount = 0
  /** False while finding the rules that match, true while masking. */
  #masking = false
  readonly #ranges: number[] = []
  #chatBit = 0
  #chatIndex = 0
  /** Scope of the text being read: its kind bits, its ext path (or -1), the rules with patterns to try. */
  #kindBits = 0
  #extIndex = -1
  #textRules: readonly number[] = []

  constructor (rules: readonly CompiledRule[], options: RuleSetOptions) {
    this.ruleCount = rules.length
    this.#rules = rules
    this.#action = Uint8Array.from(rules, rule => ACTION_CODE[rule.spec.action])
    this.#chats = Uint8Array.from(rules, rule => rule.chats)
    this.#kinds = Uint16Array.from(rules, rule => rule.kinds)
    this.#options = options
    this.#blockDecision = rules.map(({ spec }) => Object.freeze({ valid: false, code: spec.code ?? options.defaultCode, rule: spec.name }) as PreSendDecision)

    const words = new Map<string, { word: string, rules: number[] }>()
    const extRules = new Map<string, number[]>()
    rules.forEach((rule, index) => {
      for (const [normalised, word] of rule.words) {
        let entry = words.get(normalised)
        if (entry === undefined) words.set(normalised, entry = { word, rules: [] })
        entry.rules.push(index)
      }
      for (const path of rule.ext) {
        let listing = extRules.get(path)
        if (listing === undefined) extRules.set(path, listing = [])
        if (listing[listing.length - 1] !== index) listing.push(index)
      }
    })
    this.wordCount = words.size
    this.#automaton = words.size > 0 ? new WordAutomaton([...words.values()].map(entry => entry.word)) : undefined
    this.#wordRules = [...words.values()].map(entry => entry.rules)
    this.#extPaths = [...extRules].map(([path, listing]) => {
      const flags = new Uint8Array(rules.length)
      let chats = 0
      for (const rule of listing) {
        flags[rule] = 1
        chats |= rules[rule].chats
      }
      return { segments: path.split('.'), rules: flags, patternRules: listing.filter(rule => rules[rule].patterns.length > 0), chats }
    })

    const chatIndexes = Object.values(CHAT_INDEX)
    this.#patternRules = chatIndexes.map(chat => RULE_MESSAGE_TYPES.map((_, kind) => rules.flatMap((rule, index) =>
      (rule.chats & (1 << chat)) !== 0 && (rule.kinds & (1 << kind)) !== 0 && rule.patterns.length > 0 ? [index] : [])))
    this.#chatKinds = chatIndexes.map(chat => rules.reduce((kinds, rule) => (rule.chats & (1 << chat)) !== 0 ? kinds | rule.kinds : kinds, 0))
    this.#matched = new Uint8Array(rules.length)
    this.#touched = new Int32Array(rules.length)
  }

  decide = (message: PreSendMessage): PreSendDecision => {
    const chatIndex = CHAT_INDEX[chatTypeOf(message)]
    if (this.#chatKinds[chatIndex] === 0) return PASS
    this.#chatIndex = chatIndex
    this.#chatBit = 1 << chatIndex
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
    if (!isBodiesPayload(payload)) {
      const kind = KIND_INDEX.get(message.kind ?? bodyKind(payload)) ?? -1
      if (kind === -1) return 0
      this.#readBody(payload, kind)
      return 1 << kind
    }
    let messageKinds = 0
    for (const body of payload.bodies) {
      const kind = KIND_INDEX.get(bodyKind(body)) ?? -1
      if (kind === -1) continue
      messageKinds |= 1 << kind
      this.#readBody(body, kind)
    }
    if (isRecord(payload.ext)) this.#readExt(payload.ext, messageKinds)
    return messageKinds
  }

  /** The body with its texts read (changed only when masking). */
  #readBody (body: PreSendBody, kind: number): PreSendBody {
    if ((this.#chatKinds[this.#chatIndex] & (1 << kind)) === 0) return body
    this.#kindBits = 1 << kind
    this.#extIndex = -1
    this.#textRules = this.#patternRules[this.#chatIndex][kind]
    return readBodyTexts(body, kind, this)
  }

  /** The ext with the texts at the rules' paths read (changed only when masking); they count as every body's kind. */
  #readExt (ext: Record<string, unknown>, messageKinds: number): Record<string, unknown> {
    if ((this.#chatKinds[this.#chatIndex] & messageKinds) === 0) return ext
    this.#kindBits = messageKinds
    let result = ext
    for (let p = 0; p < this.#extPaths.length; p++) {
      const extPath = this.#extPaths[p]
      if ((extPath.chats & this.#chatBit) === 0) continue
      const value = valueAt(ext, extPath.segments)
      if (typeof value !== 'string' || value.length === 0) continue
      this.#extIndex = p
      this.#textRules = extPath.patternRules
      const read = this.read(value)
      if (read !== value) result = withValueAt(result, extPath.segments, read)
    }
    this.#extIndex = -1
    return result
  }

  /** TextReader: finding matches, marks the rules and returns `text`; masking, returns it masked. */
  read (text: string): string {
    if (this.#masking) return this.#maskText(text)
    this.#detectText(text)
    return text
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

  #detectText (text: string): void {
    this.#automaton?.scan(text, this)
    const patternRules = this.#textRules
    let normalised: NormalisedText | undefined
    for (let i = 0; i < patternRules.length; i++) {
      const rule = patternRules[i]
      if (this.#matched[rule] === 1 || !this.#inScope(rule)) continue
      normalised ??= normaliseText(text)
      const patterns = this.#rules[rule].patterns
      for (let k = 0; k < patterns.length; k++) {
        if (patterns[k].test.test(normalised.text)) {
          this.#mark(rule)
          break
        }
      }
    }
  }

  /** `text` with what the in-scope mask rules find in it masked (the same string if nothing). */
  #maskText (text: string): string {
    this.#ranges.length = 0
    this.#automaton?.scan(text, this)
    let normalised: NormalisedText | undefined
    for (const rule of this.#textRules) {
      if (this.#action[rule] !== MASK || !this.#inScope(rule)) continue
      normalised ??= normaliseText(text)
      for (const pattern of this.#rules[rule].patterns) {
        for (const match of normalised.text.matchAll(pattern.all)) {
          if (match[0].length === 0) continue
          const [start, end] = originalRange(normalised, match.index, match.index + match[0].length)
          this.#ranges.push(start, end)
        }
      }
    }
    return applyMask(text, this.#ranges, this.#options.maskChar)
  }

  #verdict (message: PreSendMessage, messageKinds: number): PreSendDecision {
    const matched = Array.from(this.#touched.subarray(0, this.#touchedCount)).sort((a, b) => a - b)
    const block = matched.find(rule => this.#action[rule] === BLOCK)
    if (block !== undefined) return this.#blockDecision[block]

    const decision: PreSendDecision = { valid: true }
    if (matched.some(rule => this.#action[rule] === MASK)) {
      this.#masking = true
      let changed = false
      const flat = !isBodiesPayload(message.payload)
      const payload = rewritePayload(message, body => {
        const kind = KIND_INDEX.get(flat ? message.kind ?? bodyKind(body) : bodyKind(body)) ?? -1
        const masked = kind === -1 ? body : this.#readBody(body, kind)
        changed ||= masked !== body
        return masked
      }, ext => {
        const masked = this.#readExt(ext, messageKinds)
        changed ||= masked !== ext
        return masked
      })
      if (changed) decision.payload = payload
    }
    if (this.#chatIndex === CHAT_INDEX.chatroom) {
      const leveled = matched.find(rule => this.#rules[rule].spec.chatroomLevel !== undefined)
      if (leveled !== undefined) decision.chatroom_msg_level = this.#rules[leveled].spec.chatroomLevel
    }
    const names = matched.map(rule => this.#rules[rule].spec.name).join(',')
    if (decision.payload !== undefined && this.#options.blockTooLong) {
      // Measured before `rule` is set: the reply the route sends leaves it out.
      const length = JSON.stringify(decision).length
      if (length > MAX_REPLY_CHARS) {
        return { valid: false, code: this.#options.defaultCode, rule: `${names} (masked reply of ${length} characters is over Easemob's ${MAX_REPLY_CHARS})` }
      }
    }
    decision.rule = names
    return decision
  }
}
