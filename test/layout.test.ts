// The house rules a reader relies on: imports run one way (src/ ← plugins/ ← routes/ ← index.ts ←
// service/), and no source file grows past what one can read in a sitting.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const LAYERS = ['src', 'plugins', 'routes', 'index.ts', 'service'] as const
const MAX_LINES = 400

function files (path: string): string[] {
  const full = join(ROOT, path)
  if (!statSync(full).isDirectory()) return [path]
  return readdirSync(full).flatMap(name => files(join(path, name))).filter(file => file.endsWith('.ts'))
}

function layerOf (file: string): number {
  const top = file.split(sep)[0]
  return LAYERS.indexOf(top as typeof LAYERS[number])
}

const SOURCES = LAYERS.flatMap(layer => files(layer))

t.test('imports run one way: no layer imports one built on it', async t => {
  const wrong: string[] = []
  for (const file of SOURCES) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const [, specifier] of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), specifier)).replace(/\.js$/, '.ts')
      if (layerOf(target) > layerOf(file)) wrong.push(`${file} imports ${target}`)
    }
  }
  t.same(wrong, [])
})

t.test(`no source file is over ${MAX_LINES} lines`, async t => {
  const long = [...SOURCES, ...files('bench'), ...files('scripts')]
    .map(file => [file, readFileSync(join(ROOT, file), 'utf8').split('\n').length] as const)
    .filter(([, lines]) => lines > MAX_LINES)
  t.same(long, [])
})
