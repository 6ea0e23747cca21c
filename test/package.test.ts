// The package as a user gets it: `npm pack`, the tarball installed into a new project (as
// `npm init -y` and `tsc --init` make it, "type": "commonjs"), and the examples of
// examples/plugin/ registering the plugin from TypeScript (ESM and CommonJS, type-checked with the
// options `tsc --init` writes) and from plain JavaScript (import and require()). The README's plugin
// example is examples/plugin/app.ts word for word, so the README cannot drift from what is tested.
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const EXAMPLES = join(ROOT, 'examples', 'plugin')
const NAME = 'fastify-easemob-callback'
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')

// Build, pack, install and compile take 30-60 s on a loaded two-core machine; tap's own is 60 s.
t.setTimeout(240_000)

interface Run { stdout: string, stderr: string }

/**
 * The test's environment without what `npm test` puts in it (npm_*), and with tap's process
 * tracking and coverage off: tap adds its loaders to child processes unless told not to, and they
 * would measure npm and tsc, slowly.
 */
const CLEAN_ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|INIT_CWD$|NODE_ENV$)/i.test(key))),
  NODE_OPTIONS: '',
  _TAPJS_PROCESSINFO_COVERAGE_: '0'
}

function run (command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: { ...CLEAN_ENV, ...env }, timeout: 180_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args.join(' ')} in ${cwd}: ${error.message}\n${stdout}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

const versionOf = (name: string): string => (JSON.parse(read(`node_modules/${name}/package.json`)) as { version: string }).version

interface Manifest {
  files: string[]
  exports: Record<string, unknown>
  types: string
  engines: Record<string, string>
  license: string
  scripts: Record<string, string>
}
const manifest = JSON.parse(read('package.json')) as Manifest

t.test('the README\'s plugin example is examples/plugin/app.ts, word for word', async t => {
  const example = readFileSync(join(EXAMPLES, 'app.ts'), 'utf8')
  t.ok(read('README.md').includes('```ts\n' + example + '```\n'), 'README.md has examples/plugin/app.ts as a ```ts block')
})

t.test('the examples import the package by its name', async t => {
  for (const file of ['app.ts', 'app.cts', 'app.mjs', 'app.cjs']) {
    const text = readFileSync(join(EXAMPLES, file), 'utf8')
    const specifiers = [...text.matchAll(/(?:from |require\()'([^']+)'/g)].map(match => match[1])
    t.same([...new Set(specifiers)].sort(), ['fastify', NAME], file)
  }
})

t.test('package.json, LICENSE and .gitignore are what a published package needs', async t => {
  t.equal(manifest.license, 'MIT')
  t.ok(existsSync(join(ROOT, 'LICENSE')), 'LICENSE exists')
  t.match(read('LICENSE'), /^MIT License/)
  t.match(manifest.engines, { node: '>=20.19' })
  t.equal(manifest.types, './dist/index.d.ts')
  // `easemob-source` maps the package's own name to its source for the repo's tests and examples
  // (node --conditions=easemob-source); nobody else sets that condition.
  t.same(Object.keys(manifest.exports['.'] as object), ['types', 'easemob-source', 'default'], 'exports: types first')
  t.match(manifest.exports, { '.': { types: './dist/index.d.ts', default: './dist/index.js' } })
  t.ok(read('.gitignore').split('\n').includes('*.tgz'), '.gitignore has *.tgz')
  t.match(manifest.scripts.prepack, /\bbuild\b/, 'npm pack (and publish) builds dist/ first: a prepack script')
})

t.test('the packed package installs and runs in a new project, from TypeScript and JavaScript', async t => {
  const packDir = mkdtempSync(join(tmpdir(), 'easemob-pack-'))
  const project = mkdtempSync(join(tmpdir(), 'easemob-project-'))
  t.teardown(() => {
    rmSync(packDir, { recursive: true, force: true })
    rmSync(project, { recursive: true, force: true })
  })

  // `npm pack` builds first (prepack, checked above); here dist/ is built only when a source is
  // newer than it (`npm start`'s script: `npm run build` takes 10-30 s), and prepack is skipped.
  await run(process.execPath, ['scripts/build-if-stale.mjs'], ROOT)
  const packed = JSON.parse((await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], ROOT)).stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const tarball = join(packDir, packed[0].filename)
  const files = packed[0].files.map(file => file.path)

  await t.test('the tarball has the package and its documents, and no tests', async t => {
    t.same(files.filter(file => /^(test|bench|coverage|\.tap|\.ci|scripts|data)\//.test(file) || /\.test\.|\.tgz$/.test(file)), [], 'no tests, benchmark, CI or local files')
    for (const file of ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/service/cli.js', 'dist/src/cli/send.js', 'samples/post_chat_txt.json']) {
      t.ok(files.includes(file), file)
    }
    for (const file of readdirSync(EXAMPLES)) t.ok(files.includes(`examples/plugin/${file}`), `examples/plugin/${file}`)
    // Every file the README links to is in the package, but the benchmark, which is the repository's.
    const links = [...read('README.md').matchAll(/\]\((?!https?:|#)([^)#]+)/g)].map(match => match[1]).filter(link => !link.startsWith('bench/'))
    t.ok(links.length > 0)
    for (const link of new Set(links)) t.ok(link.endsWith('/') ? files.some(file => file.startsWith(link)) : files.includes(link), `the README's link ${link}`)
  })

  // A new project as npm and TypeScript make it; the versions of the repository's lock, so that
  // npm's cache has them and the install stays offline and fast. better-sqlite3 (the outbox's,
  // optional, a native build) is left out.
  await run('npm', ['init', '-y'], project)
  const projectJson = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(project, 'package.json'), JSON.stringify({ ...projectJson, type: 'commonjs' }, null, 2))
  await run('npm', ['install', tarball, `fastify@${versionOf('fastify')}`, `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`,
    '--omit=optional', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project)
  await run('npx', ['tsc', '--init'], project)

  await t.test('tsc --init writes the strict options the examples are checked with', async t => {
    const tsconfig = readFileSync(join(project, 'tsconfig.json'), 'utf8')
    for (const option of ['"module": "nodenext"', '"strict": true', '"noUncheckedIndexedAccess": true', '"exactOptionalPropertyTypes": true', '"verbatimModuleSyntax": true']) {
      t.ok(tsconfig.includes(option), option)
    }
  })

  // In a "type": "commonjs" project an ES module written in TypeScript is a .mts file (in a
  // "type": "module" one, the same text is a .ts file); app.cts is the CommonJS form.
  copyFileSync(join(EXAMPLES, 'app.ts'), join(project, 'app.mts'))
  for (const file of ['app.cts', 'app.mjs', 'app.cjs']) copyFileSync(join(EXAMPLES, file), join(project, file))

  await t.test('TypeScript accepts the examples with tsc --init\'s options', async t => {
    // Only what the files need: Node's types (tsc --init writes "types": [] and says to add
    // "node" for Node.js) for `process`, and a folder for the output beside the plain examples.
    const { stdout } = await run('npx', ['tsc', '-p', '.', '--types', 'node', '--outDir', 'build', '--pretty', 'false'], project)
    t.equal(stdout, '')
    t.ok(existsSync(join(project, 'build', 'app.mjs')) && existsSync(join(project, 'build', 'app.cjs')), 'build/app.mjs and build/app.cjs')
  })

  await t.test('require() of the package returns its namespace, the plugin as .default and .easemobCallback', async t => {
    const script = `const m = require('${NAME}'); console.log(JSON.stringify({ tag: m[Symbol.toStringTag], esModule: m.__esModule, same: m.default === m.easemobCallback, plugin: typeof m.easemobCallback, signCallback: typeof m.signCallback }))`
    const { stdout, stderr } = await run(process.execPath, ['-e', script], project)
    t.same(JSON.parse(stdout), { tag: 'Module', esModule: true, same: true, plugin: 'function', signCallback: 'function' })
    t.equal(stderr, '', 'no warning')
  })

  // Loads an example as its kind of module would be (require() for .cjs, import otherwise) with
  // NODE_ENV=test, so that it does not listen, and answers a signed sample callback by inject.
  writeFileSync(join(project, 'check.mjs'), `
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadSamples, restamp } from '${NAME}'

const file = resolve(process.argv[2])
const app = file.endsWith('.cjs') ? createRequire(import.meta.url)(file) : (await import(pathToFileURL(file).href)).app
const payload = restamp(loadSamples().get('post_chat_txt'), 'rule-secret')
const response = await app.inject({ method: 'POST', url: '/easemob/', payload })
console.log('ANSWER ' + JSON.stringify({ statusCode: response.statusCode, body: response.json() }))
await app.close()
`)
  const examples = {
    'app.mjs': 'examples/plugin/app.mjs, imported',
    'app.cjs': 'examples/plugin/app.cjs, required',
    'build/app.mjs': 'examples/plugin/app.ts, compiled and imported',
    'build/app.cjs': 'examples/plugin/app.cts, compiled and required'
  }
  const runs = await Promise.all(Object.keys(examples).map(file => run(process.execPath, ['check.mjs', file], project, { NODE_ENV: 'test' })))
  for (const [i, name] of Object.values(examples).entries()) {
    await t.test(`${name}, answers a signed callback`, async t => {
      const { stdout } = runs[i]
      const answer = stdout.split('\n').find(line => line.startsWith('ANSWER '))
      t.same(JSON.parse(answer?.slice('ANSWER '.length) ?? 'null'), { statusCode: 200, body: { status: 'ok' } })
      t.match(stdout, /"text":"hello bob, lunch at noon\?","msg":"text message"/, 'the txt handler logged the message')
    })
  }
})
