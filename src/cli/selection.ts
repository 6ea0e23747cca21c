// Which requests the sender sends: the built-in samples, picked by name, by kind, `all` or `pre-send`.
import { classify } from '../classify.js'
import { loadSamples, type SampleBody } from '../samples.js'

/** The receiver's two routes: post-send callbacks at the URL, pre-send requests at `<url>pre-send`. */
export type Route = 'post-send' | 'pre-send'

export interface Outgoing {
  /** The sample's name, or where the body was read from (a path, or `stdin`). */
  name: string
  /** The handler kind the receiver will route it to (`classify`), or `pre-send`. */
  kind: string
  route: Route
  body: SampleBody
}

/** A request to send, described: pre-send samples are named `pre_send_*`. */
export function describe (name: string, body: SampleBody, route: Route = name.startsWith('pre_send') ? 'pre-send' : 'post-send'): Outgoing {
  return { name, kind: route === 'pre-send' ? 'pre-send' : classify(body).kind, route, body }
}

/** Every built-in sample, in file-name order. */
export function allSamples (): Outgoing[] {
  return [...loadSamples()].map(([name, body]) => describe(name, body))
}

/**
 * The samples that `selectors` pick, in the order given, each once: a sample name picks that
 * sample, `all` every post-send sample, `pre-send` every pre-send one, a kind every sample of it.
 */
export function selectSamples (selectors: readonly string[]): Outgoing[] {
  const samples = allSamples()
  const chosen = new Map<string, Outgoing>()
  for (const selector of selectors) {
    let matches = samples.filter(sample => sample.name === selector)
    if (matches.length === 0) {
      matches = selector === 'all'
        ? samples.filter(sample => sample.route === 'post-send')
        : samples.filter(sample => sample.kind === selector)
    }
    if (matches.length === 0) throw new Error(`no sample or kind named "${selector}"; try --list`)
    for (const sample of matches) if (!chosen.has(sample.name)) chosen.set(sample.name, sample)
  }
  return [...chosen.values()]
}
