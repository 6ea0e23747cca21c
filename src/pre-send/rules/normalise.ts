// Text normalisation for the rules matcher, one code point at a time so that every normalised
// UTF-16 unit can be traced back to the original code point it came from (masking needs that).
//
// fold(code point) = NFKC, then toLowerCase, and nothing at all for default-ignorable code points
// (zero-width space/joiners, soft hyphen, variation selectors, BOM...), so "ＢＡＤ", "Bad", "𝐛𝐚𝐝"
// and "b\u200Bad" all read "bad". Per code point, so a letter followed by a separate combining
// mark is not composed: words and text are normalised alike, which is what matching needs.

const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u

/** BMP cache: 0 not computed yet, 1 folds to itself, 2 folds to BMP_FOLDED.get(unit). */
const BMP_STATE = new Uint8Array(0x10000)
const BMP_FOLDED = new Map<number, string>()
/** Astral cache (emoji, mathematical letters...): null folds to itself. Bounded. */
const ASTRAL_FOLDED = new Map<number, string | null>()
const ASTRAL_CACHE_MAX = 8192

function computeFold (codePoint: number): string | null {
  if (codePoint >= 0xD800 && codePoint <= 0xDFFF) return null // a lone surrogate stays as it is
  const original = String.fromCodePoint(codePoint)
  if (IGNORABLE.test(original)) return ''
  const folded = original.normalize('NFKC').toLowerCase()
  return folded === original ? null : folded
}

/**
 * What `codePoint` reads as after normalisation: null when it is unchanged, otherwise the
 * replacement (possibly several units, possibly empty). Cached; allocation-free once warm.
 */
export function foldCodePoint (codePoint: number): string | null {
  if (codePoint < 0x80) {
    return codePoint >= 0x41 && codePoint <= 0x5A ? String.fromCharCode(codePoint + 0x20) : null
  }
  if (codePoint < 0x10000) {
    const state = BMP_STATE[codePoint]
    if (state === 1) return null
    if (state === 2) return BMP_FOLDED.get(codePoint) as string
    const folded = computeFold(codePoint)
    if (folded === null) BMP_STATE[codePoint] = 1
    else {
      BMP_FOLDED.set(codePoint, folded)
      BMP_STATE[codePoint] = 2
    }
    return folded
  }
  const cached = ASTRAL_FOLDED.get(codePoint)
  if (cached !== undefined) return cached
  const folded = computeFold(codePoint)
  if (ASTRAL_FOLDED.size < ASTRAL_CACHE_MAX) ASTRAL_FOLDED.set(codePoint, folded)
  return folded
}

/** A word (or any text) normalised as the matcher reads text. */
export function normaliseWord (word: string): string {
  let result = ''
  for (let i = 0; i < word.length;) {
    const codePoint = word.codePointAt(i) as number
    const width = codePoint > 0xFFFF ? 2 : 1
    const folded = foldCodePoint(codePoint)
    result += folded === null ? word.slice(i, i + width) : folded
    i += width
  }
  return result
}

/**
 * Normalised text for the regular-expression patterns, with a way back to the original:
 * `starts[j]` is the original UTF-16 index of the code point that produced normalised unit j.
 * When normalisation would change nothing but ASCII letter case, `text` is the original string
 * and `starts` is null: patterns are compiled with the `i` flag, so case does not matter, and
 * positions are the same. That is the common case (ASCII, most Chinese) and allocates nothing.
 */
export interface NormalisedText {
  readonly original: string
  readonly text: string
  readonly starts: Int32Array | null
}

/** True when normalising `text` would change at most the case of ASCII letters. */
function isNormalModuloAsciiCase (text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) < 0x80) continue
    const codePoint = text.codePointAt(i) as number
    if (foldCodePoint(codePoint) !== null) return false
    if (codePoint > 0xFFFF) i++
  }
  return true
}

export function normaliseText (text: string): NormalisedText {
  if (isNormalModuloAsciiCase(text)) return { original: text, text, starts: null }
  let length = 0
  for (let i = 0; i < text.length;) {
    const codePoint = text.codePointAt(i) as number
    const width = codePoint > 0xFFFF ? 2 : 1
    const folded = foldCodePoint(codePoint)
    length += folded === null ? width : folded.length
    i += width
  }
  const starts = new Int32Array(length)
  let result = ''
  let unchangedFrom = 0
  let unit = 0
  for (let i = 0; i < text.length;) {
    const codePoint = text.codePointAt(i) as number
    const width = codePoint > 0xFFFF ? 2 : 1
    const folded = foldCodePoint(codePoint)
    const units = folded === null ? width : folded.length
    for (let k = 0; k < units; k++) starts[unit++] = i
    if (folded !== null) {
      result += text.slice(unchangedFrom, i) + folded
      unchangedFrom = i + width
    }
    i += width
  }
  return { original: text, text: result + text.slice(unchangedFrom), starts }
}

/** The original range of normalised range [start, end) (end > start): whole code points. */
export function originalRange (normalised: NormalisedText, start: number, end: number): [number, number] {
  const starts = normalised.starts
  if (starts === null) return [start, end]
  const last = starts[end - 1]
  return [starts[start], last + (normalised.original.codePointAt(last) as number > 0xFFFF ? 2 : 1)]
}
