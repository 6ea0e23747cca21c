import t from 'tap'
import { WordAutomaton } from '../src/pre-send/rules/automaton.js'
import { applyMask } from '../src/pre-send/rules/mask.js'
import { foldCodePoint, normaliseText, normaliseWord, originalRange } from '../src/pre-send/rules/normalise.js'

// The word matcher (Aho–Corasick over normalised text) and the masking of original positions.

/** `text` with every word of `words` found in it masked, as the policy does it. */
function mask (words: string[], text: string, maskChar = '*'): string {
  const ranges: number[] = []
  new WordAutomaton(words).scan(text, { hit: (_word, start, end) => { ranges.push(start, end) } })
  return applyMask(text, ranges, maskChar)
}

function hits (words: string[], text: string): Array<[string, string]> {
  return new WordAutomaton(words).findAll(text).map(hit => [hit.word, text.slice(hit.start, hit.end)])
}

t.test('normalisation: NFKC, lower case, ignorables dropped, per code point', async t => {
  t.equal(normaliseWord('ＢＡＤ'), 'bad', 'full-width Latin')
  t.equal(normaliseWord('１３８'), '138', 'full-width digits')
  t.equal(normaliseWord('BaD'), 'bad', 'case')
  t.equal(normaliseWord('𝐛𝐚𝐝'), 'bad', 'mathematical bold (surrogate pairs)')
  t.equal(normaliseWord('b\u200Ba\u00ADd\uFE0F'), 'bad', 'zero-width space, soft hyphen, variation selector')
  t.equal(normaliseWord('坏词'), '坏词', 'Chinese unchanged')
  t.equal(normaliseWord('，'), ',', 'full-width punctuation')
  t.equal(normaliseWord('㎏'), 'kg', 'one code point, two units')
  t.equal(normaliseWord('😀'), '😀', 'emoji unchanged')
  t.equal(normaliseWord('Ελλάδα'), 'ελλάδα', 'non-Latin case')
  t.equal(foldCodePoint(0x61), null, 'unchanged code points fold to null')
  t.equal(foldCodePoint(0xD800), null, 'a lone surrogate stays')
  t.equal(foldCodePoint(0x200B), '', 'ignorable folds to nothing')
})

t.test('normaliseText keeps the way back to the original', async t => {
  const plain = normaliseText('Hello 世界')
  t.equal(plain.text, 'Hello 世界', 'ASCII case and Chinese: the original itself')
  t.equal(plain.starts, null, 'no position map when positions do not change')

  const text = '😀ＢＡＤ㎏'
  const normalised = normaliseText(text)
  t.equal(normalised.text, '😀badkg')
  t.same(originalRange(normalised, 2, 5), [2, 5], 'bad <- ＢＡＤ')
  t.same(originalRange(normalised, 0, 2), [0, 2], 'emoji kept whole')
  t.same(originalRange(normalised, 6, 7), [5, 6], 'the g of kg is the whole ㎏')
})

t.test('overlapping words: he, she, hers', async t => {
  const found = new WordAutomaton(['he', 'she', 'hers']).findAll('ushers')
  t.same(found, [
    { word: 'she', start: 1, end: 4 },
    { word: 'he', start: 2, end: 4 },
    { word: 'hers', start: 2, end: 6 }
  ], 'every occurrence, in the order they end')
  t.same(hits(['aa'], 'aaaa'), [['aa', 'aa'], ['aa', 'aa'], ['aa', 'aa']], 'self-overlapping occurrences')
  t.same(hits(['abcd', 'bc'], 'xabcy'), [['bc', 'bc']], 'a failed long word still yields the short one inside it')
  t.same(hits(['a', 'ab', 'bab', 'bc', 'bca', 'c', 'caa'], 'abccab').map(([word]) => word),
    ['a', 'ab', 'bc', 'c', 'c', 'a', 'ab'], 'the classic dictionary-suffix example')
})

t.test('Chinese needs no word boundaries', async t => {
  t.same(hits(['坏词'], '这是坏词啊'), [['坏词', '坏词']])
  t.equal(mask(['坏词'], '这是坏词啊'), '这是**啊')
  t.equal(mask(['坏词', '词啊'], '这是坏词啊'), '这是***', 'overlapping ranges merge')
  t.same(hits(['坏词'], '坏 词'), [], 'a space in between is a different text')
})

t.test('full-width, mixed case and words given in either form', async t => {
  t.equal(mask(['bad'], 'so ＢＡＤ!'), 'so ***!', 'full-width text, ASCII word')
  t.equal(mask(['ＢＡＤ'], 'so bad!'), 'so ***!', 'full-width word, ASCII text')
  t.equal(mask(['bad'], 'BaD bAd BAD'), '*** *** ***', 'mixed case')
  t.equal(mask(['Bad'], 'bad'), '***', 'words are case-folded too')
  t.equal(mask(['138'], 'tel １３８'), 'tel ***', 'full-width digits')
})

t.test('emoji and surrogate pairs around and inside matches', async t => {
  t.same(new WordAutomaton(['bad']).findAll('😀bad😀'), [{ word: 'bad', start: 2, end: 5 }])
  t.equal(mask(['bad'], '😀bad😀'), '😀***😀', 'emoji around the word untouched')
  t.equal(mask(['坏😀'], '这坏😀了'), '这**了', 'an emoji in the word is one masked character')
  t.equal(mask(['bad'], '𝐛𝐚𝐝 day'), '*** day', 'one mask per original code point, not per UTF-16 unit')
  t.equal(mask(['bad'], 'b\u200Bad'), '****', 'an ignorable inside the match is masked with it')
  t.equal(mask(['kg'], '5㎏!'), '5*!', 'one original code point that normalises to two units')
  t.equal(mask(['bad'], 'bad', '😶'), '😶😶😶', 'an astral mask character')
  t.equal(mask(['bad'], '👨‍👩‍👧bad👨‍👩‍👧'), '👨‍👩‍👧***👨‍👩‍👧', 'ZWJ sequences stay intact')
})

t.test('words that normalise alike share one entry; empty words are refused', async t => {
  const automaton = new WordAutomaton(['bad', 'BAD', 'ｂａｄ'])
  t.same(automaton.findAll('bad').map(hit => hit.word), ['bad'], 'reported once, as the first spelling')
  t.throws(() => new WordAutomaton(['ok', '\u200B']), /empty once normalised/)
})

t.test('applyMask merges and orders ranges', async t => {
  t.equal(applyMask('abcdef', [], '*'), 'abcdef')
  t.equal(applyMask('abcdef', [3, 5, 0, 2, 1, 3], '#'), '#####f', 'unordered, overlapping and touching')
  t.equal(applyMask('abcdef', [1, 2, 4, 5], '*'), 'a*cd*f', 'separate ranges')
})

t.test('5,000 words: built once, every word found where it is', async t => {
  // Deterministic mix: Latin, Chinese and words that are prefixes/suffixes of others.
  const words: string[] = []
  let seed = 7
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed }
  for (let i = 0; i < 5000; i++) {
    if (i % 3 === 0) words.push(`w${i.toString(36)}z`)
    else words.push(Array.from({ length: 2 + next() % 4 }, () => String.fromCharCode(0x4E00 + next() % 2000)).join(''))
  }
  words.push('w1z', 'w1', 'z')
  const automaton = new WordAutomaton(words)
  t.equal(automaton.size, words.length)

  for (const index of [0, 1, 2, 999, 2500, 4998, 4999]) {
    const word = words[index]
    const text = `前${word.toUpperCase()}后 😀`
    const found = automaton.findAll(text).filter(hit => hit.word === word)
    t.same(found.map(hit => [hit.start, hit.end]), [[1, 1 + word.length]], `word ${index} at its place`)
  }
  t.same(automaton.findAll('w1z').map(hit => hit.word).sort(), ['w1', 'w1z', 'z'].sort(), 'nested words all reported')
  const clean = 'Is the build green? 今天天气很好。'.replace(/[\u4E00-\u9FFF]/g, 'x')
  t.same(automaton.findAll(clean), [], 'no false hits in unrelated text')
})
