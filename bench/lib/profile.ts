// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per function,
// self time per package / area, and inclusive time of the project's own functions.
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

export interface FunctionCost {
  fn: string
  where: string
  area: string
  ms: number
  pct: number
  /** µs per answered request, when the number of requests in the window is known. */
  usPerRequest?: number
}

export interface ProfileSummary {
  file: string
  /** Window the samples were taken from, ms, and whether the requested window applied. */
  windowMs: number
  windowApplied: boolean
  /** Busy time in the window (not idle), ms. */
  busyMs: number
  idlePct: number
  topSelf: FunctionCost[]
  byArea: Array<{ area: string, ms: number, pct: number, usPerRequest?: number }>
  /** Requests answered in the window, when known; busy µs per request then. */
  requests?: number
  busyUsPerRequest?: number
  projectInclusive: FunctionCost[]
}

/** Which part of the stack a frame belongs to: the package, node core, V8, or the project's own files. */
export function areaOf (frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName === '(garbage collector)') return 'V8: garbage collector'
    if (functionName === '(program)') return 'V8: (program) native/unattributed'
    if (functionName === '(idle)') return '(idle)'
    if (functionName === '(root)') return '(root)'
    return 'V8 builtins / generated code'
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url)
    return `node core: ${m?.[1] ?? url}`
  }
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const project = /\/(src|plugins|routes)\/(.+)$/.exec(url)
  if (project !== null && !url.includes('/bench/servers/') && !url.includes('/bench/.build/bench/')) return `project: ${project[1]}/${project[2].replace(/\.js$/, '.ts')}`
  if (url.includes('/bench/')) return 'bench harness'
  return url
}

function shortUrl (url: string, line: number): string {
  if (url === '') return ''
  const nm = url.lastIndexOf('/node_modules/')
  const tail = nm !== -1 ? url.slice(nm + '/node_modules/'.length) : url.replace(/^file:\/\/.*\/bench\/\.build\//, '').replace(/^file:\/\//, '')
  return `${tail}:${line + 1}`
}

export function summarise (file: string, window?: { startUs: number, endUs: number }, top = 25, requests?: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  // Sample i covers the interval up to sample i+1.
  const self = new Map<number, number>()
  let t = profile.startTime
  const times: number[] = new Array(profile.samples.length)
  for (let i = 0; i < profile.samples.length; i++) { t += profile.timeDeltas[i]; times[i] = t }
  let windowApplied = window !== undefined && window.startUs >= profile.startTime - 1e6 && window.endUs <= profile.endTime + 1e6 && window.endUs > window.startUs
  const from = windowApplied ? (window as { startUs: number }).startUs : -Infinity
  const to = windowApplied ? (window as { endUs: number }).endUs : Infinity
  let windowUs = 0
  let counted = 0
  for (let i = 0; i < profile.samples.length; i++) {
    if (times[i] < from || times[i] > to) continue
    const dt = i + 1 < profile.samples.length ? profile.timeDeltas[i + 1] : 0
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt)
    windowUs += dt
    counted++
  }
  if (windowApplied && counted === 0) windowApplied = false

  const frameKey = (frame: CallFrame): string => `${frame.functionName || '(anonymous)'}\u0000${frame.url}\u0000${frame.lineNumber}`
  const idleUs = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0)
  const busyUs = windowUs - idleUs

  const fnSelf = new Map<string, { frame: CallFrame, us: number }>()
  const areaSelf = new Map<string, number>()
  for (const [id, us] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame
    if (frame.functionName === '(idle)') continue
    const key = frameKey(frame)
    const entry = fnSelf.get(key) ?? { frame, us: 0 }
    entry.us += us
    fnSelf.set(key, entry)
    const area = areaOf(frame)
    areaSelf.set(area, (areaSelf.get(area) ?? 0) + us)
  }

  // Inclusive time of project functions: a sample counts once per function on its stack.
  const inclusive = new Map<string, { frame: CallFrame, us: number }>()
  for (const [id, us] of self) {
    const seen = new Set<string>()
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const frame = (byId.get(node) as ProfileNode).callFrame
      if (!areaOf(frame).startsWith('project:')) continue
      const key = frameKey(frame)
      if (seen.has(key)) continue
      seen.add(key)
      const entry = inclusive.get(key) ?? { frame, us: 0 }
      entry.us += us
      inclusive.set(key, entry)
    }
  }

  const cost = ({ frame, us }: { frame: CallFrame, us: number }): FunctionCost => ({
    fn: frame.functionName || '(anonymous)',
    where: shortUrl(frame.url, frame.lineNumber),
    area: areaOf(frame),
    ms: us / 1000,
    pct: 100 * us / busyUs,
    usPerRequest: requests === undefined ? undefined : us / requests
  })

  return {
    file,
    windowMs: windowUs / 1000,
    windowApplied,
    busyMs: busyUs / 1000,
    idlePct: 100 * idleUs / windowUs,
    topSelf: [...fnSelf.values()].sort((a, b) => b.us - a.us).slice(0, top).map(cost),
    byArea: [...areaSelf].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: us / 1000, pct: 100 * us / busyUs, usPerRequest: requests === undefined ? undefined : us / requests })),
    requests,
    busyUsPerRequest: requests === undefined ? undefined : busyUs / requests,
    projectInclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, 15).map(cost)
  }
}

export function profileMarkdown (summary: ProfileSummary): string {
  const per = summary.requests !== undefined
  const us = (x: { usPerRequest?: number }): string => per ? ` ${(x.usPerRequest ?? 0).toFixed(2)} |` : ''
  const usHead = per ? ' µs/req |' : ''
  const usRule = per ? '---:|' : ''
  const lines: string[] = []
  lines.push(`Profile \`${summary.file.replace(/^.*\/bench\//, 'bench/')}\`: ${summary.windowApplied ? 'timed load window only' : 'whole process (window not applied)'}, ` +
    `${(summary.windowMs / 1000).toFixed(1)} s, busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idlePct.toFixed(1)}%` +
    `${per ? `, ${summary.requests as number} requests answered, ${(summary.busyUsPerRequest ?? 0).toFixed(1)} µs busy CPU per request (under the profiler)` : ''}. Percentages are of busy time.`)
  lines.push('', '**Self time by area**', '', `| area | ms | % |${usHead}`, `|---|---:|---:|${usRule}`)
  for (const a of summary.byArea.slice(0, 20)) lines.push(`| ${a.area} | ${a.ms.toFixed(0)} | ${a.pct.toFixed(1)} |${us(a)}`)
  lines.push('', '**Top self time by function**', '', `| function | where | area | ms | % |${usHead}`, `|---|---|---|---:|---:|${usRule}`)
  for (const f of summary.topSelf) lines.push(`| \`${f.fn.length > 60 ? f.fn.slice(0, 57) + '...' : f.fn}\` | ${f.where} | ${f.area} | ${f.ms.toFixed(0)} | ${f.pct.toFixed(1)} |${us(f)}`)
  if (summary.projectInclusive.length > 0) {
    lines.push('', '**Project functions, inclusive time** (self + everything they call, including Fastify code they call back into)', '', `| function | where | ms | % |${usHead}`, `|---|---|---:|---:|${usRule}`)
    for (const f of summary.projectInclusive) lines.push(`| \`${f.fn}\` | ${f.where} | ${f.ms.toFixed(0)} | ${f.pct.toFixed(1)} |${us(f)}`)
  }
  return lines.join('\n')
}
