// `npm run openapi`: writes the service's OpenAPI document to openapi.json at the repository root.
// `npm run openapi -- --check` (CI): writes nothing, and exits 1 when openapi.json is not what
// would be written, e.g. after a schema changed without the document being regenerated.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateOpenapiDocument, openapiText } from '../service/openapi.js'

const file = fileURLToPath(new URL('../openapi.json', import.meta.url))
const args = process.argv.slice(2)
const unknown = args.filter(arg => arg !== '--check')
if (unknown.length > 0) {
  process.stderr.write(`openapi: unknown argument ${unknown.join(' ')}; usage: npm run openapi [-- --check]\n`)
  process.exit(2)
}

const text = openapiText(await generateOpenapiDocument())

if (args.includes('--check')) {
  let current: string | undefined
  try {
    current = readFileSync(file, 'utf8')
  } catch {}
  if (current !== text) {
    process.stderr.write(`openapi: ${file} is ${current === undefined ? 'missing' : 'out of date'}: run \`npm run openapi\` and commit it\n`)
    process.exit(1)
  }
  process.stdout.write(`openapi: ${file} is current\n`)
} else {
  writeFileSync(file, text)
  process.stdout.write(`openapi: wrote ${file}\n`)
}
