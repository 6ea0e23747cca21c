// The OpenAPI document (service/openapi.ts): valid OpenAPI 3.1, every callback kind and the
// pre-send request and reply named in it, faithful to the schemas the plugin checks with, served
// at GET /openapi.json, and committed as openapi.json in its current form.
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import Fastify, { type FastifyInstance } from 'fastify'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import easemobCallback, { CALLBACK_KINDS } from '../index.js'
import openapi, { generateOpenapiDocument, KIND_COMPONENTS, OPENAPI_URL, openapiDocument, openapiText, type JsonSchema, type OpenApiDocument } from '../service/openapi.js'
import { classify } from '../src/classify.js'
import { loadSamples, samplesDir } from '../src/samples.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const document = await generateOpenapiDocument()
const schemas = document.components.schemas

/** An app like the service's: a route of its own, then the document, then the plugin (with pre-send unless told). */
async function build (options: { preSend?: boolean, prefix?: string } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ status: 'ok' }))
  await app.register(openapi)
  app.get('/readyz', async () => ({ status: 'ready' }))
  await app.register(easemobCallback, {
    secrets: ['s'],
    prefix: options.prefix,
    preSend: options.preSend === false ? undefined : () => ({ valid: true })
  })
  await app.ready()
  return app
}

/** The `$ref`s of a part of the document. */
function refsOf (value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsOf)
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, sub]) => key === '$ref' ? [sub as string] : refsOf(sub))
}

const ref = (name: string): string => `#/components/schemas/${name}`

function operation (path: string): JsonSchema & { requestBody: { content: Record<string, { schema: JsonSchema }> }, responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }> } {
  return document.paths[path].post as never
}

t.test('the document is valid OpenAPI 3.1', async t => {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(document))
  t.same(result, { valid: true }, JSON.stringify(result.errors))
  t.equal(validator.version, '3.1')
  t.equal(document.openapi, '3.1.0')
  t.equal(document.info.title, 'fastify-easemob-callback')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.equal(document.info.version, pkg.version, 'the version of package.json')
  t.match(document.info.description, /README/)

  // The validator checks references too: the same document with one that leads nowhere fails.
  const broken = structuredClone(document)
  broken.components.schemas.TxtMessage = { $ref: ref('NoSuchSchema') }
  t.equal((await new Validator().validate(broken)).valid, false, 'a dangling $ref is caught')
})

t.test('every callback kind is a named component that says its kind', async t => {
  t.equal(KIND_COMPONENTS.txt, 'TxtMessage')
  t.equal(KIND_COMPONENTS.group_op, 'GroupOpEvent')
  t.equal(KIND_COMPONENTS.unknown, 'UnknownEvent')
  for (const kind of CALLBACK_KINDS) {
    const named = Object.entries(schemas).filter(([, schema]) => schema['x-easemob-kind'] === kind)
    t.same(named.map(([name]) => name), [KIND_COMPONENTS[kind]], `${kind}: one component, ${KIND_COMPONENTS[kind]}`)
    const schema = schemas[KIND_COMPONENTS[kind]]
    t.match(schema, { type: 'object', description: String }, kind)
    t.match(schema.description as string, `\`${kind}\``, `${kind}: its description names the handler`)
    t.match(schema.required, ['callId', 'timestamp'], `${kind}: the envelope is required`)
  }
  t.same(new Set(Object.values(KIND_COMPONENTS)).size, CALLBACK_KINDS.length, 'one name per kind')
  const body = operation('/').requestBody.content['application/json'].schema
  t.same(body, { anyOf: CALLBACK_KINDS.map(kind => ({ $ref: ref(KIND_COMPONENTS[kind]) })) }, 'POST / takes any of them')
})

t.test('the pre-send request and reply, the envelope and the answers are components', async t => {
  t.match(schemas.PreSendRequest, { 'x-easemob-kind': 'pre-send', type: 'object', required: ['callId', 'timestamp', 'chat_type', 'from', 'to', 'msg_id', 'payload'] })
  t.match(schemas.PreSendReply, { 'x-easemob-kind': 'pre-send', type: 'object', required: ['valid'], additionalProperties: false })
  t.same(Object.keys(schemas.PreSendReply.properties as object), ['valid', 'code', 'payload', 'chatroom_msg_level'])
  t.match(schemas.CallbackEnvelope, { type: 'object', required: ['callId', 'timestamp'] })
  t.same(schemas.CallbackReply.properties, { status: { type: 'string', enum: ['ok', 'duplicate', 'stale'] } })
  t.same(schemas.ErrorReply.required, ['statusCode', 'code', 'error', 'message'])

  const preSend = operation('/pre-send')
  t.same(preSend.requestBody.content['application/json'].schema, { $ref: ref('PreSendRequest') })
  t.same(preSend.responses['200'].content?.['application/json'].schema, { $ref: ref('PreSendReply') })
  t.same(Object.keys(preSend.responses), ['200', '400', '401', '413', '415'])

  const post = operation('/')
  t.same(post.responses['200'].content?.['application/json'].schema, { $ref: ref('CallbackReply') })
  t.same(Object.keys(post.responses), ['200', '400', '401', '413', '415', '500', '503'])
  for (const status of ['400', '401', '413', '415', '500', '503']) {
    t.same(post.responses[status].content?.['application/json'].schema, { $ref: ref('ErrorReply') }, status)
  }
  t.match(post.responses['401'], { description: /FST_ERR_EASEMOB_SIGNATURE_MISMATCH/ })
  t.match(post.responses['503'], { description: /FST_ERR_EASEMOB_HANDLER_TIMEOUT/ })
  t.same(Object.keys(document.paths), ['/', '/pre-send'], 'the plugin\'s routes only')
})

t.test('every reference leads to a component, and every component is plain JSON Schema', async t => {
  const names = new Set(Object.keys(schemas))
  t.same(refsOf(document).filter(target => !names.has(target.replace('#/components/schemas/', ''))), [])
  t.notMatch(JSON.stringify(document), /"errorMessage"/, 'the validator\'s own keyword is left out')
})

t.test('the components accept what the plugin takes: every sample fits the component of its kind', async t => {
  // The components as a JSON Schema 2020-12 document of their own, compiled in strict mode: a
  // keyword that is not JSON Schema (bar x-easemob-kind) fails the compilation.
  const ajv = new Ajv2020({ strict: true, allErrors: true })
  ajv.addKeyword('x-easemob-kind')
  const text = JSON.stringify(schemas).replaceAll('#/components/schemas/', 'components#/$defs/')
  ajv.addSchema({ $id: 'components', $defs: JSON.parse(text) as object })
  const check = (name: string, value: unknown): string | true => {
    const validate = ajv.getSchema(`components#/$defs/${name}`)
    if (validate === undefined) return `no component ${name}`
    return validate(value) ? true : ajv.errorsText(validate.errors)
  }
  const kinds = new Set<string>()
  for (const [name, body] of loadSamples()) {
    if (name.startsWith('pre_send_')) {
      t.equal(check('PreSendRequest', body), true, name)
      continue
    }
    const { kind } = classify(structuredClone(body))
    kinds.add(kind)
    t.equal(check(KIND_COMPONENTS[kind], body), true, `${name}: ${KIND_COMPONENTS[kind]}`)
    t.equal(check('CallbackEnvelope', body), true, `${name}: the envelope`)
  }
  t.ok(kinds.size >= 15, `the samples cover ${kinds.size} kinds`)
  for (const file of readdirSync(samplesDir()).filter(file => file.startsWith('pre_send_response_'))) {
    t.equal(check('PreSendReply', JSON.parse(readFileSync(join(samplesDir(), file), 'utf8'))), true, file)
  }

  // And refuse what the plugin refuses.
  const txt = structuredClone(loadSamples().get('post_chat_txt')) as Record<string, unknown>
  t.not(check('TxtMessage', { ...txt, callId: undefined }), true, 'no callId')
  t.not(check('TxtMessage', { ...txt, timestamp: 'yesterday' }), true, 'a timestamp that is not one')
  t.not(check('ImgMessage', txt), true, 'a text message is not an image message')
  t.not(check('PreSendReply', { valid: true, rule: 'logged only' }), true, 'the reply has Easemob\'s fields only')
  t.not(check('PreSendReply', { valid: true, chatroom_msg_level: 'urgent' }), true, 'a room priority Easemob does not know')
})

t.test('GET /openapi.json serves the same document', async t => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'GET', url: OPENAPI_URL })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  const served = response.json<OpenApiDocument>()
  t.same(served, openapiDocument(app), 'what openapiDocument gives')
  t.same(served, document, 'what the script writes: the host\'s own routes are left out')
})

t.test('the paths are the routes the plugin has, where it has them', async t => {
  const without = await build({ preSend: false })
  t.teardown(() => without.close())
  const plain = openapiDocument(without)
  t.same(Object.keys(plain.paths), ['/'], 'no pre-send route, no pre-send path')
  t.same(plain.components, document.components, 'the components all the same')

  const prefixed = await build({ prefix: '/easemob' })
  t.teardown(() => prefixed.close())
  const paths = openapiDocument(prefixed).paths
  t.same(Object.keys(paths), ['/easemob/', '/easemob/pre-send'])
  t.same(paths['/easemob/'], document.paths['/'])
})

t.test('registered after the plugin, it cannot see its routes: ready() says so', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(easemobCallback, { secrets: ['s'] })
  await app.register(openapi)
  await t.rejects(async () => { await app.ready() }, /register it before the easemob plugin/)
})

t.test('openapi.json is current', async t => {
  const onDisk = readFileSync(join(ROOT, 'openapi.json'), 'utf8')
  t.ok(onDisk === openapiText(document), 'openapi.json is what `npm run openapi` writes; run it and commit the file')
  t.ok(onDisk.endsWith('}\n'))
})

t.test('npm run openapi -- --check', async t => {
  const run = (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/openapi.ts', ...args], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
  })
  const check = await run(['--check'])
  t.equal(check.code, 0, check.stderr)
  t.match(check.stdout, /is current/)
  const wrong = await run(['--write-everything'])
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /unknown argument/)
})
