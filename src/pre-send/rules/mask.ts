/** `text` with every range of `ranges` (flat start,end pairs) replaced by one `maskChar` per code point. */
export function applyMask (text: string, ranges: readonly number[], maskChar: string): string {
  if (ranges.length === 0) return text
  const pairs: Array<[number, number]> = []
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i], ranges[i + 1]])
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let result = ''
  let done = 0
  for (let i = 0; i < pairs.length;) {
    const start = pairs[i][0]
    let end = pairs[i][1]
    // Ranges that overlap (or touch) are merged, so that no code point is masked twice.
    for (i++; i < pairs.length && pairs[i][0] <= end; i++) end = Math.max(end, pairs[i][1])
    result += text.slice(done, start) + maskChar.repeat(codePointCount(text, start, end))
    done = end
  }
  return result + text.slice(done)
}

/** Code points in text[start, end): a surrogate pair is one, a lone surrogate too. */
function codePointCount (text: string, start: number, end: number): number {
  let count = 0
  for (let i = start; i < end; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0xDC00 && unit <= 0xDFFF && i > start && (text.charCodeAt(i - 1) & 0xFC00) === 0xD800) continue
    count++
  }
  return count
}
