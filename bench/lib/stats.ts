export function median (values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Least-squares slope of y over x. */
export function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

export const mb = (bytes: number): number => bytes / 1024 / 1024

export function fmt (value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '–'
  return value.toFixed(digits)
}

export function int (value: number): string {
  if (!Number.isFinite(value)) return '–'
  return Math.round(value).toLocaleString('en-US')
}
