import type { PreSendDecision, PreSendMessage } from '../../schemas/pre-send.js'
import { normaliseWord } from './normalise.js'
import { RuleSet } from './rule-set.js'
import type { RulesFile, RuleSpec } from './schema.js'
import { chatBits, kindBits } from './scope.js'

// Checks a rules file that has the RulesFile shape for what the schema cannot say, and hands the
// checked rules to RuleSet. Every problem is reported at once, so the file can be fixed in one go.

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

/** A rule of the rules file, checked, with its scope and patterns in the form decide() uses. */
export interface CompiledRule {
  readonly spec: RuleSpec
  /** Chat and kind bits, as in scope.ts. */
  readonly chats: number
  readonly kinds: number
  readonly patterns: readonly Pattern[]
  /** Its words by their normalised form (which is what is matched), each as first written. */
  readonly words: ReadonlyMap<string, string>
  /** Its ext paths, dotted. */
  readonly ext: readonly string[]
}

/** `test` finds whether it matches without lastIndex state; `all`, global, finds every match to mask. */
export interface Pattern { readonly test: RegExp, readonly all: RegExp }

/**
 * The policy of a rules file that already has the RulesFile shape. Throws RulesCompileError listing
 * every problem (path and rule name each): duplicate names, empty words, bad or empty-matching
 * patterns, settings that do not fit the action.
 */
export function compileRules (spec: RulesFile): CompiledRules {
  const problems: string[] = []
  if (spec.maskChar !== undefined && [...spec.maskChar].length !== 1) {
    problems.push(`maskChar: must be exactly one character, got ${JSON.stringify(spec.maskChar)}`)
  }
  const firstByName = new Map<string, number>()
  const rules = spec.rules.map((rule, index) => {
    const first = firstByName.get(rule.name)
    if (first !== undefined) problems.push(`rules[${index}].name: duplicate rule name ${JSON.stringify(rule.name)} (first at rules[${first}])`)
    else firstByName.set(rule.name, index)
    return compileRule(rule, index, problems)
  })
  if (problems.length > 0) throw new RulesCompileError(problems)
  return new RuleSet(rules, {
    maskChar: spec.maskChar ?? DEFAULT_MASK_CHAR,
    defaultCode: spec.defaultCode ?? DEFAULT_BLOCK_CODE,
    blockTooLong: (spec.maskTooLong ?? 'block') === 'block'
  })
}

/** One rule, with what is wrong with it added to `problems`. */
function compileRule (rule: RuleSpec, index: number, problems: string[]): CompiledRule {
  const problem = (field: string, text: string, item?: number): void => {
    problems.push(`rules[${index}].${field}${item === undefined ? '' : `[${item}]`} (rule ${JSON.stringify(rule.name)}): ${text}`)
  }
  if (rule.code !== undefined && rule.action !== 'block') problem('code', 'only block rules have a code')
  if (rule.chatroomLevel !== undefined && rule.action === 'block') problem('chatroomLevel', 'a blocked message is not delivered; use it on mask or pass rules')
  if (rule.action === 'mask' && rule.messageTypes?.includes('cmd') === true) {
    problem('messageTypes', 'command messages cannot be modified by a pre-send reply (see Easemob\'s pre-send documentation), so a mask rule cannot cover cmd')
  }
  if ((rule.words ?? []).length === 0 && (rule.patterns ?? []).length === 0) problem('words', 'the rule has neither words nor patterns')

  const words = new Map<string, string>()
  ;(rule.words ?? []).forEach((word, item) => {
    const normalised = normaliseWord(word)
    if (normalised.length === 0) problem('words', word === '' ? 'empty word' : `word ${JSON.stringify(word)} is empty once normalised`, item)
    else if (!words.has(normalised)) words.set(normalised, word)
  })

  const patterns: Pattern[] = []
  ;(rule.patterns ?? []).forEach((source, item) => {
    let test: RegExp
    try {
      test = new RegExp(source, 'iu')
    } catch (error) {
      problem('patterns', `invalid regular expression ${JSON.stringify(source)}: ${(error as Error).message}`, item)
      return
    }
    if (test.test('')) problem('patterns', `${JSON.stringify(source)} matches the empty string, so it would match every message`, item)
    else patterns.push({ test, all: new RegExp(source, 'giu') })
  })

  const ext = (rule.ext ?? []).filter((path, item) => {
    const valid = path.split('.').every(segment => segment !== '')
    if (!valid) problem('ext', `${JSON.stringify(path)} is not a dotted path of ext keys`, item)
    return valid
  })

  return { spec: rule, chats: chatBits(rule.chatTypes), kinds: kindBits(rule.messageTypes, rule.action), patterns, words, ext }
}
