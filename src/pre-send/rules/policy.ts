import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { createHash } from 'node:crypto'
import { watch as watchDirectory, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname, extname, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import type { PreSendDecision, PreSendMessage } from '../../schemas/pre-send.js'
import { compileRules, RulesCompileError, type CompiledRules } from './compile.js'
import { RulesFile } from './schema.js'

// The service's built-in pre-send policy: a rules file (PRE_SEND_RULES) loaded at start, reloaded
// on SIGHUP and when the file changes. A reload that fails keeps the rules in force; nothing here
// logs, the caller does (onReload tells it what happened).

/** Everything wrong with a rules file, one problem per line after the first. */
export class RulesFileError extends Error {
  constructor (readonly file: string, readonly problems: string[]) {
    super(`invalid pre-send rules file ${file}:\n${problems.map(problem => `  - ${problem}`).join('\n')}`)
    this.name = 'RulesFileError'
  }
}

export type ReloadResult = { ok: true, rules: number } | { ok: false, error: string }

/** What onReload receives: the reload's result and what triggered it. */
export type ReloadEvent = ReloadResult & { trigger: 'signal' | 'file' }

export interface WatchOptions {
  /** Called after each reload the watcher starts; must not throw. */
  onReload: (result: ReloadEvent) => void
  /** Signal that reloads the file; false for none. Default 'SIGHUP'. */
  signal?: NodeJS.Signals | false
  /**
   * Watch the file's directory (so that editors' and Kubernetes' rename-into-place is seen) and
   * reload, debounced by ~100 ms, when the file's content has changed. Default true.
   */
  file?: boolean
}

export interface RulesPolicy {
  /** The pre-send decision for a message; synchronous. Bound: can be passed as `preSend` as it is. */
  readonly decide: (message: PreSendMessage) => PreSendDecision
  /** Reads the file again; on any problem keeps the current rules and says why. */
  reload: () => Promise<ReloadResult>
  /** Reloads on a signal and/or file change until the returned function is called. */
  watch: (options: WatchOptions) => () => void
  /** The rules file, as an absolute path. */
  readonly file: string
  readonly ruleCount: number
  /** 1 after loading, plus one per successful reload. */
  readonly version: number
}

const DEBOUNCE_MS = 100

function lineColumn (text: string, position: number): string {
  const before = text.slice(0, position)
  const line = before.split('\n').length
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`
}

/** Where JSON.parse failed: its message has a position on some errors only; YAML (a JSON superset) finds the rest. */
function jsonErrorPlace (text: string, message: string): string | undefined {
  if (/line \d+ column \d+/.test(message)) return undefined
  const position = /at position (\d+)/.exec(message)
  if (position !== null) return lineColumn(text, Number(position[1]))
  const linePos = parseDocument(text).errors[0]?.linePos?.[0]
  return linePos === undefined ? undefined : `line ${linePos.line}, column ${linePos.col}`
}

function parseText (text: string, extension: string): { value: unknown, problems: string[] } {
  if (extension === '.json') {
    try {
      return { value: JSON.parse(text), problems: [] }
    } catch (error) {
      const message = (error as Error).message.replace(/\s+/g, ' ')
      const place = jsonErrorPlace(text, message)
      return { value: undefined, problems: [`invalid JSON${place === undefined ? '' : ` at ${place}`}: ${message}`] }
    }
  }
  const document = parseDocument(text, { prettyErrors: true })
  if (document.errors.length > 0) {
    return { value: undefined, problems: document.errors.map(error => `invalid YAML: ${error.message.split('\n')[0].replace(/:$/, '')}`) }
  }
  return { value: document.toJS(), problems: [] }
}

/** `/rules/2/action` as `rules[2].action`. */
function readablePath (pointer: string): string {
  let path = ''
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~')
    path += /^\d+$/.test(key) ? `[${key}]` : path === '' ? key : `.${key}`
  }
  return path === '' ? '(top level)' : path
}

function describe (error: ValueError): string {
  if (error.type === ValueErrorType.ObjectRequiredProperty) return 'is required'
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return 'is not a known setting'
  const custom = (error.schema as { errorMessage?: unknown }).errorMessage
  if (typeof custom === 'string') return custom
  const literals = (error.schema.anyOf as Array<{ const?: unknown }> | undefined)?.map(member => member.const)
  if (literals !== undefined && literals.every(literal => typeof literal === 'string')) {
    return `must be one of ${literals.join(', ')}, got ${JSON.stringify(error.value)}`
  }
  return `${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}, got ${JSON.stringify(error.value)}`
}

function schemaProblems (value: unknown): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(RulesFile, value)) {
    const path = readablePath(error.path)
    if (seen.has(path)) continue
    seen.add(path)
    problems.push(`${path}: ${describe(error)}`)
  }
  return problems
}

/** Parses, validates and compiles rules text; throws RulesFileError naming `file`. */
export function compileRulesText (text: string, file: string): CompiledRules {
  const extension = extname(file).toLowerCase()
  if (!['.json', '.yaml', '.yml'].includes(extension)) {
    throw new RulesFileError(file, [`unsupported extension ${JSON.stringify(extension)}: use .json, .yaml or .yml`])
  }
  const { value, problems } = parseText(text, extension)
  if (problems.length > 0) throw new RulesFileError(file, problems)
  const shapeProblems = value === null || value === undefined ? ['the file is empty: expected an object with a "rules" list'] : schemaProblems(value)
  if (shapeProblems.length > 0) throw new RulesFileError(file, shapeProblems)
  try {
    return compileRules(value as RulesFile)
  } catch (error) {
    if (error instanceof RulesCompileError) throw new RulesFileError(file, error.problems)
    throw error
  }
}

async function readRules (file: string): Promise<{ rules: CompiledRules, hash: string }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new RulesFileError(file, [`cannot read it: ${(error as Error).message}`])
  }
  return { rules: compileRulesText(text, file), hash: createHash('sha256').update(text).digest('hex') }
}

async function contentHash (file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex')
  } catch {
    return undefined
  }
}

class FileRulesPolicy implements RulesPolicy {
  readonly file: string
  #rules: CompiledRules
  #version = 1
  /** Hash of the content last read (loaded or rejected), so file events for other files are ignored. */
  #seenHash: string
  #reloading: Promise<unknown> = Promise.resolve()

  constructor (file: string, rules: CompiledRules, hash: string) {
    this.file = file
    this.#rules = rules
    this.#seenHash = hash
  }

  get ruleCount (): number {
    return this.#rules.ruleCount
  }

  get version (): number {
    return this.#version
  }

  readonly decide = (message: PreSendMessage): PreSendDecision => this.#rules.decide(message)

  /** Reloads, one at a time: a reload asked for during another runs after it. */
  reload = (): Promise<ReloadResult> => {
    const next = this.#reloading.then(() => this.#load())
    this.#reloading = next
    return next
  }

  async #load (): Promise<ReloadResult> {
    try {
      const { rules, hash } = await readRules(this.file)
      this.#seenHash = hash
      this.#rules = rules
      this.#version++
      return { ok: true, rules: rules.ruleCount }
    } catch (error) {
      const hash = await contentHash(this.file)
      if (hash !== undefined) this.#seenHash = hash
      return { ok: false, error: (error as Error).message }
    }
  }

  /** A reload only if the file's content differs from what was last read; undefined if not. */
  async #reloadIfChanged (): Promise<ReloadResult | undefined> {
    const changed = await (this.#reloading = this.#reloading.then(async () => (await contentHash(this.file)) !== this.#seenHash))
    return changed === true ? this.reload() : undefined
  }

  watch = (options: WatchOptions): (() => void) => {
    const { onReload, signal = 'SIGHUP', file = true } = options
    let stopped = false
    let timer: NodeJS.Timeout | undefined
    let watcher: FSWatcher | undefined

    const onSignal = (): void => {
      void this.reload().then(result => { if (!stopped) onReload({ ...result, trigger: 'signal' }) })
    }
    const onFileEvent = (): void => {
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(() => {
        timer = undefined
        void this.#reloadIfChanged().then(result => { if (!stopped && result !== undefined) onReload({ ...result, trigger: 'file' }) })
      }, DEBOUNCE_MS)
    }

    if (signal !== false) process.on(signal, onSignal)
    if (file) {
      const name = basename(this.file)
      watcher = watchDirectory(dirname(this.file), { persistent: false }, (_event, changed) => {
        // Events for other names can still be ours: a symlinked directory swapped under the file.
        // The content hash decides; this only spares the read for obviously unrelated files.
        if (changed === null || changed === name || changed.startsWith('..')) onFileEvent()
      })
      watcher.on('error', (error: Error) => {
        watcher?.close()
        watcher = undefined
        if (!stopped) onReload({ ok: false, error: `watching ${dirname(this.file)} stopped: ${error.message}`, trigger: 'file' })
      })
    }

    return () => {
      if (stopped) return
      stopped = true
      if (signal !== false) process.off(signal, onSignal)
      if (timer !== undefined) clearTimeout(timer)
      watcher?.close()
    }
  }
}

/**
 * Loads a rules file (.json, .yaml or .yml). Throws RulesFileError, whose message names the file
 * and lists every problem, when it cannot be read, parsed, validated or compiled: the service
 * refuses to start then.
 */
export async function loadRulesPolicy (path: string): Promise<RulesPolicy> {
  const file = resolve(path)
  const { rules, hash } = await readRules(file)
  return new FileRulesPolicy(file, rules, hash)
}
