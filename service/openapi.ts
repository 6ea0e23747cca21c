import swagger from '@fastify/swagger'
import { Type, type TSchema } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import easemobCallback from '../index.js'
import * as errors from '../src/errors.js'
import * as bodies from '../src/schemas/bodies.js'
import * as events from '../src/schemas/events.js'
import { CALLBACK_KINDS, callbackSchemas, type CallbackKind, isMessageKind, type MessageKind } from '../src/schemas/kinds.js'
import * as messages from '../src/schemas/messages.js'
import { MAX_REPLY_CHARS, PRE_SEND_KINDS, PreSendBodiesPayload, PreSendBody, PreSendReply, PreSendRequest } from '../src/schemas/pre-send.js'
import { BooleanLike, MessageId, NumberLike, ObjectOrString, Timestamp } from '../src/schemas/primitives.js'
import { CallbackEnvelope, CallbackReply } from '../src/schemas/route.js'

// The callback API as an OpenAPI 3.1 document: every TypeBox schema of src/schemas as a named
// component, and the two routes of the plugin. 3.1, because its schemas are JSON Schema 2020-12,
// which TypeBox writes: `const`, `patternProperties`, `{}` for "anything" are all valid as they are.

export const OPENAPI_VERSION = '3.1.0'
/** Where the service serves the document. */
export const OPENAPI_URL = '/openapi.json'
const README = 'https://www.npmjs.com/package/fastify-easemob-callback#readme'

/** A JSON Schema as it appears in the document. */
export type JsonSchema = { [key: string]: unknown }

export type OpenApiDocument = {
  openapi: string
  info: { title: string, version: string, description: string, license: { name: string, identifier: string } }
  externalDocs: { description: string, url: string }
  tags: Array<{ name: string, description: string }>
  paths: Record<string, Record<string, JsonSchema>>
  components: { schemas: Record<string, JsonSchema> }
}

// ---- components ----

/** What each message kind is; they are all recognised the same way (describeKind). */
const MESSAGE_WHAT: Record<MessageKind, string> = {
  txt: 'A text', img: 'An image', audio: 'A voice', video: 'A video', file: 'A file', loc: 'A location',
  cmd: 'A command (transparent)', custom: 'A custom', combine: 'A merged (combined-forward)'
}

/** What each other kind is and how the plugin recognises it (docs/protocol.md#telling-callbacks-apart). */
const EVENT_DESCRIPTIONS: Record<Exclude<CallbackKind, MessageKind>, string> = {
  recall: 'A message recall: `chat_type: recall`; `recall_id` is the recalled message.',
  read_ack: 'A read receipt, one-to-one or in a group: `chat_type: read_ack`; `payload.ack_message_id` is the message read.',
  delivery_ack: 'A delivery receipt: `chat_type: delivery_ack`. Easemob publishes no sample; assumed to look like `read_ack`.',
  channel_ack: 'A conversation read receipt: `chat_type: channel_ack`.',
  edit: 'A message edit: `chat_type: edit`; the new content is in `payload.bodies`, the edited message is `payload.edit_message_id`.',
  reaction: 'A reaction added or removed: `chat_type: notify` and `payload.type: reaction`.',
  thread: 'A thread created, changed or removed: `chat_type: notify` and `payload.type: thread`.',
  user_status: 'A user logged in, logged out, or was replaced by another device: no `chat_type`, but `user`, `status` and `reason` (login, logout, replaced).',
  roster: 'A contact operation: `chat_type: roster`; `payload.operation` names it.',
  group_op: 'A group or chat-room operation, current format: `event: group_op_event`; `operation` names it (Easemob adds new ones, so it is any string).',
  muc: 'A group or chat-room operation, legacy format: `chat_type: muc`; `payload.operation` names it. `reason` is an object or a string (often JSON text).',
  keyword_alert: 'A sensitive-word hit: `eventType: keyword_alert`.',
  moderation: 'A content-moderation result: `eventType: moderation`.',
  offline_push: 'The result of an offline push: `step: push` (it also has a `chat_type`, so it is told apart first).',
  unknown: 'A signed callback of none of the other kinds\' shapes, or of a shape whose schema it does not fit: only the envelope is certain, the rest is as Easemob sent it. ' +
    'The event also has `unrecognised: { looksLike?, message, reason }`, saying why.'
}

/** What a kind is, how it is recognised, and the handlers it goes to. */
function describeKind (kind: CallbackKind): string {
  const first = kind === 'combine' ? 'a `txt` body with `subType: sub_combine`' : `of \`type: ${kind}\``
  const what = isMessageKind(kind)
    ? `${MESSAGE_WHAT[kind]} message: \`chat_type\` chat or groupchat (chatroom in history records), the first of \`payload.bodies\` ${first}.`
    : EVENT_DESCRIPTIONS[kind]
  return `${what} Handlers: \`${kind}\` (the event has \`kind: '${kind}'\` added)${isMessageKind(kind) ? ', then `message`' : kind === 'unknown' ? ', then `message` if it is a chat message' : ''}, then \`*\`.`
}

/** The error answer of the callback routes (src/error-handler.ts). */
const ErrorReply = Type.Object({
  statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
  code: Type.String({ pattern: '^FST_' }),
  error: Type.String(),
  message: Type.String()
})

/**
 * Schemas used in several places: where one of them appears inside another schema, the same
 * object or a copy (`Type.Optional` copies), the document has a `$ref` to it. Only the ones worth
 * a name; the rest is inlined.
 */
const SHARED: ReadonlyArray<readonly [string, TSchema, string]> = [
  ['TxtBody', bodies.TxtBody, 'A text body.'],
  ['ImgBody', bodies.ImgBody, 'An image body: the file is at `url`, downloaded with `secret`.'],
  ['AudioBody', bodies.AudioBody, 'A voice body; `length` in seconds.'],
  ['VideoBody', bodies.VideoBody, 'A video body; `thumb` is its thumbnail.'],
  ['FileBody', bodies.FileBody, 'A file body.'],
  ['LocBody', bodies.LocBody, 'A location body.'],
  ['CmdBody', bodies.CmdBody, 'A command body: history and pre-send docs name the command `action`, post-send docs `msg`.'],
  ['CustomBody', bodies.CustomBody, 'A custom body: `customEvent` and its attributes (`v2:customExts`, or the legacy `customExts`).'],
  ['CombineBody', bodies.CombineBody, 'A merged message: a `txt` body with `subType: sub_combine`; the messages merged are in the file at `url`.'],
  ['AnyBody', bodies.AnyBody, 'A body of any type (edits, recalls, new types in pre-send): only `type` is certain.'],
  ['PreSendBody', PreSendBody, 'One message body of a pre-send request: a known type, or any other (it still reaches the policy).'],
  ['PreSendBodiesPayload', PreSendBodiesPayload, 'The pre-send `payload` of the older Easemob docs and Agora: `{ext, bodies}`, like a history-API message.'],
  ['Timestamp', Timestamp, 'Milliseconds since the epoch, as a number or a digit string; the signature covers it exactly as sent.'],
  ['MessageId', MessageId, 'A message id: an 18–19 digit string (a number in one doc table).'],
  ['NumberLike', NumberLike, 'A number, or the same number as a string: Easemob sends some numbers as strings.'],
  ['BooleanLike', BooleanLike, 'A boolean, or `"true"` / `"false"` as a string.'],
  ['ObjectOrString', ObjectOrString, 'An object, or a string (often JSON text): `payload.ext`, legacy `reason`, metadata `event_info.ext`.']
]

/** The component name of a kind's schema: its export name in src/schemas (`TxtMessage`, `GroupOpEvent`, …). */
function componentName (kind: CallbackKind): string {
  const schema = callbackSchemas[kind]
  const named = [...Object.entries(messages), ...Object.entries(events)].find(([, value]) => value === schema)
  if (named !== undefined) return named[0]
  const pascal = kind.split('_').map(word => word[0].toUpperCase() + word.slice(1)).join('')
  return pascal + (isMessageKind(kind) ? 'Message' : 'Event')
}

/** The component of each callback kind, by kind. */
export const KIND_COMPONENTS: Readonly<Record<CallbackKind, string>> = Object.fromEntries(
  CALLBACK_KINDS.map(kind => [kind, componentName(kind)])
) as Record<CallbackKind, string>

/** Keys that come first in a schema, in this order; the rest keep TypeBox's order. */
const FIRST_KEYS = ['$ref', 'description', 'x-easemob-kind', 'type', 'enum']
/** Keywords of this package's validator only (src/validator.ts), not of JSON Schema. */
const PRIVATE_KEYWORDS = new Set(['errorMessage'])
/** TypeBox's pattern for "any key" in a `Type.Record` of strings. */
const ANY_KEY = '^(.*)$'
/** Keywords whose value is a schema or a list of schemas, and those whose value is a map of them. */
const SUBSCHEMAS = new Set(['items', 'prefixItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'propertyNames', 'not', 'anyOf', 'allOf', 'oneOf', 'if', 'then', 'else'])
const SUBSCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas'])

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A TypeBox schema as plain JSON Schema for the document: TypeBox's symbols and the validator's
 * own keywords dropped, `const` written as a one-value `enum` (as @fastify/swagger does, for
 * older tools), a record of any key as `additionalProperties`, shared schemas as `$ref`.
 */
function toDocument (schema: unknown, names: ReadonlyMap<string, string>, root = false): unknown {
  if (Array.isArray(schema)) return schema.map(item => toDocument(item, names))
  if (!isObject(schema)) return schema
  const name = root ? undefined : names.get(JSON.stringify(schema))
  if (name !== undefined) return { $ref: `#/components/schemas/${name}` }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (PRIVATE_KEYWORDS.has(key) || value === undefined) continue
    if (key === 'const') {
      out.enum = [value]
    } else if (key === 'patternProperties' && isObject(value) && Object.keys(value).length === 1 && ANY_KEY in value) {
      out.additionalProperties = toDocument(value[ANY_KEY], names)
    } else if (SUBSCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([property, sub]) => [property, toDocument(sub, names)]))
    } else if (SUBSCHEMAS.has(key)) {
      out[key] = toDocument(value, names)
    } else {
      // A value, not a schema (`required`, `enum`, `pattern`, `default`…): as it is.
      out[key] = JSON.parse(JSON.stringify(value)) as unknown
    }
  }
  return ordered(out)
}

function ordered (schema: Record<string, unknown>): JsonSchema {
  const out: JsonSchema = {}
  for (const key of FIRST_KEYS) if (key in schema) out[key] = schema[key]
  for (const [key, value] of Object.entries(schema)) if (!(key in out)) out[key] = value
  return out
}

/**
 * Every named schema of the document: one per callback kind (with `x-easemob-kind`), the
 * envelope and the 200 reply of post-send, the pre-send request and reply, the error reply, and
 * the shared pieces they refer to.
 */
export function openapiComponents (): Record<string, JsonSchema> {
  // By their JSON: TypeBox's symbols, which copies differ in, are left out of it.
  const names = new Map<string, string>(SHARED.map(([name, schema]) => [JSON.stringify(schema), name]))
  const component = (schema: TSchema, description: string, extra: JsonSchema = {}): JsonSchema => {
    const converted = toDocument(schema, names, true) as JsonSchema
    return ordered({ ...converted, description: converted.description ?? description, ...extra })
  }
  const schemas: Record<string, JsonSchema> = {}
  for (const kind of CALLBACK_KINDS) {
    schemas[KIND_COMPONENTS[kind]] = component(callbackSchemas[kind], describeKind(kind), { 'x-easemob-kind': kind })
  }
  schemas.CallbackEnvelope = component(CallbackEnvelope,
    'The fields every signed callback carries, checked before anything else: `callId`, `timestamp`, and `security`, ' +
    'the lowercase hex MD5 of callId + the rule\'s secret + timestamp. Without `security` the callback is refused (401; unless the insecure development switch is on). ' +
    'The kind of a callback is then told from its other fields; its schema is the component with its `x-easemob-kind`.')
  schemas.CallbackReply = component(CallbackReply,
    'The 200 answer to a post-send callback: `ok` (taken: handlers done, or written to the outbox), `duplicate` (this callId was taken already), ' +
    '`stale` (outside the freshness window: given to `onStale` only). Easemob does not read the body.')
  schemas.PreSendRequest = component(PreSendRequest,
    'A pre-send callback: Easemob asks whether to deliver a message. `payload` is either the single body (current Easemob docs) or ' +
    '`{ext, bodies}` (older docs, Agora). The policy receives it with `kind` added: the type of its (first) body, one of ' +
    `${PRE_SEND_KINDS.map(kind => `\`${kind}\``).join(', ')}.`, { 'x-easemob-kind': 'pre-send' })
  schemas.PreSendReply = component(PreSendReply,
    'The pre-send decision, exactly as Easemob receives it: `valid` decides; `code` is shown to a blocked sender; ' +
    '`payload` replaces the message (in the same form as the request\'s); `chatroom_msg_level` sets a chat-room message\'s priority. ' +
    `At most ${MAX_REPLY_CHARS} characters; a decision that does not fit is replaced by the fallback decision.`, { 'x-easemob-kind': 'pre-send' })
  schemas.ErrorReply = component(ErrorReply,
    'Every error answer of the callback routes. `message` is short and never carries a secret or a thrown error\'s text; ' +
    'a 5xx that is not the plugin\'s own has the code `FST_ERR_EASEMOB_INTERNAL` and the message `internal error`.')
  for (const [name, schema, description] of SHARED) schemas[name] = component(schema, description)
  return schemas
}

// ---- paths ----

/** The plugin's errors that answer a request, by status (src/errors.ts); the other two fail the registration. */
const REGISTRATION_ERRORS = new Set(['FST_ERR_EASEMOB_NO_SECRET', 'FST_ERR_EASEMOB_BAD_OPTION'])
/** Fastify's own errors the routes can answer with (README, "Answers and errors"). */
const FASTIFY_ERRORS: ReadonlyArray<readonly [number, string]> = [
  [413, 'FST_ERR_CTP_BODY_TOO_LARGE'],
  [415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
  [500, 'FST_ERR_EASEMOB_INTERNAL']
]

function errorCodes (): Map<number, string[]> {
  const byStatus = new Map<number, string[]>()
  const add = (status: number, code: string): void => { byStatus.set(status, [...byStatus.get(status) ?? [], code]) }
  for (const Make of Object.values(errors)) {
    if (typeof Make !== 'function') continue
    const error = new (Make as new (...args: unknown[]) => { code: string, statusCode?: number })('x', 0)
    if (!REGISTRATION_ERRORS.has(error.code) && error.statusCode !== undefined) add(error.statusCode, error.code)
  }
  for (const [status, code] of FASTIFY_ERRORS) add(status, code)
  return byStatus
}

const ERROR_SITUATIONS: Record<number, string> = {
  400: 'Not a JSON object with a valid `callId` and `timestamp`, broken JSON, an empty body, or a `__proto__` key.',
  401: '`security` missing, not 32 hexadecimal characters, or matching no configured secret.',
  413: 'The body is over the body limit.',
  415: 'Not JSON, or JSON in a charset other than UTF-8.',
  500: 'A handler failed, or something unexpected did. The callId is released first, so that Easemob\'s one retry is taken.',
  503: 'The handlers, the outbox, a sink or the shared duplicate memory did not answer in time. The callId is released first, so that Easemob\'s one retry is taken.'
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: JsonSchema): JsonSchema => ({ 'application/json': { schema } })

function errorResponses (statuses: number[]): Record<string, JsonSchema> {
  const codes = errorCodes()
  return Object.fromEntries(statuses.map(status => [String(status), {
    description: `${ERROR_SITUATIONS[status]} Codes: ${(codes.get(status) ?? []).map(code => `\`${code}\``).join(', ')}.`,
    content: json(ref('ErrorReply'))
  }]))
}

export const POST_SEND_OPERATION = 'receiveCallback'
export const PRE_SEND_OPERATION = 'receivePreSend'

function postSendOperation (): JsonSchema {
  return {
    operationId: POST_SEND_OPERATION,
    tags: ['easemob'],
    summary: 'A post-send callback, of any kind',
    description: 'Every post-send callback of the Easemob console rules pointing here. The route checks the envelope and the signature, ' +
      'drops replays (same callId), then hands the callback to the handlers of its kind, or writes it to the outbox. ' +
      'A signed callback that fits no kind\'s schema is still taken, as `unknown`. Easemob retries once on a non-200 answer.',
    requestBody: {
      required: true,
      description: 'One of the callback components (each says its `x-easemob-kind`). Their fields overlap and every one is open to ' +
        'new fields, so more than one can match: the kind is decided by a few fields, in a fixed order (the README\'s "Handler kinds and events").',
      content: json({ anyOf: CALLBACK_KINDS.map(kind => ref(KIND_COMPONENTS[kind])) })
    },
    responses: {
      200: { description: 'Taken, a duplicate, or stale: Easemob counts all three as delivered.', content: json(ref('CallbackReply')) },
      ...errorResponses([400, 401, 413, 415, 500, 503])
    }
  }
}

function preSendOperation (): JsonSchema {
  return {
    operationId: PRE_SEND_OPERATION,
    tags: ['easemob'],
    summary: 'A pre-send callback: deliver this message or not',
    description: 'Served when pre-send is on (the plugin\'s `preSend` option; the service\'s `PRE_SEND_RULES`). Easemob waits 200 ms by default. ' +
      'The route checks the envelope and the signature; every other failure (a request that does not fit `PreSendRequest`, a stale one, ' +
      'a late or broken decision) is answered 200 with the fallback decision. A replayed callId gets the first decision again.',
    requestBody: { required: true, content: json(ref('PreSendRequest')) },
    responses: {
      200: { description: 'The decision.', content: json(ref('PreSendReply')) },
      ...errorResponses([400, 401, 413, 415])
    }
  }
}

// ---- the plugin ----

/** The version of this package, from its package.json (found above this file, from service/ and dist/service/ alike). */
function packageVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'fastify-easemob-callback' && pkg.version !== undefined) return pkg.version
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json of fastify-easemob-callback not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
}

/** A route of the easemob plugin: its two routes, and only they, post the callback envelope. */
function callbackRouteOf (route: Pick<RouteOptions, 'method' | 'url' | 'schema'>): typeof POST_SEND_OPERATION | typeof PRE_SEND_OPERATION | undefined {
  if (route.method !== 'POST' || route.schema?.body !== CallbackEnvelope) return undefined
  return route.url.endsWith('/pre-send') ? PRE_SEND_OPERATION : POST_SEND_OPERATION
}

const OPERATIONS: Record<string, () => JsonSchema> = { [POST_SEND_OPERATION]: postSendOperation, [PRE_SEND_OPERATION]: preSendOperation }

/**
 * Publishes the callback API as an OpenAPI 3.1 document through @fastify/swagger, at
 * `GET /openapi.json`. Register it on the root app before the easemob plugin: @fastify/swagger
 * learns the routes from an `onRoute` hook, which the plugin's encapsulated context inherits only
 * when it is created afterwards (`ready()` fails otherwise). The document has the plugin's routes
 * only, at the URLs they were registered at; the host's other routes are left out.
 */
const openapiPlugin: FastifyPluginAsync = async app => {
  let callbackRoutes = 0
  app.addHook('onRoute', route => {
    if (callbackRouteOf(route) !== undefined) callbackRoutes++
  })
  app.addHook('onReady', async () => {
    if (callbackRoutes === 0) throw new Error('the OpenAPI plugin saw no Easemob callback route: register it before the easemob plugin')
  })
  const components = openapiComponents()
  await app.register(swagger, {
    openapi: {
      openapi: OPENAPI_VERSION,
      info: {
        title: 'fastify-easemob-callback',
        version: packageVersion(),
        description: 'The Easemob IM (环信) and Agora Chat server callbacks this service receives: post-send callbacks of every kind, and ' +
          'pre-send requests with the decision Easemob receives. Each callback shape is a component with its `x-easemob-kind`, the ' +
          `handler kind it is routed to. Setting up, signatures, answers and errors: the README, ${README}.`,
        license: { name: 'MIT', identifier: 'MIT' }
      },
      externalDocs: { description: 'README', url: README },
      tags: [{ name: 'easemob', description: 'Callbacks from Easemob, signed with a console rule\'s secret.' }]
    },
    // Only the plugin's routes, marked with their operation; swagger's own rendering of them
    // (the bare envelope, no error answers) is replaced by transformObject.
    transform: ({ route, url }) => {
      const operationId = callbackRouteOf(route)
      return { url, schema: operationId === undefined ? { hide: true } : { operationId } }
    },
    transformObject: document => {
      const { openapiObject } = document as { openapiObject: { openapi: string, info: unknown, externalDocs: unknown, tags: unknown, paths?: Record<string, { post?: { operationId?: string } }> } }
      const paths: Record<string, Record<string, JsonSchema>> = {}
      for (const [url, item] of Object.entries(openapiObject.paths ?? {})) {
        const build = OPERATIONS[item.post?.operationId ?? '']
        if (build !== undefined) paths[url] = { post: build() }
      }
      const { openapi, info, externalDocs, tags } = openapiObject
      return { openapi, info, externalDocs, tags, paths, components: { schemas: components } } as never
    }
  })
  app.get(OPENAPI_URL, { schema: { hide: true }, logLevel: 'warn' }, async () => app.swagger())
}

const openapi = fp(openapiPlugin, { name: 'fastify-easemob-callback-openapi', fastify: '5.x' })
export default openapi

/** The document of a ready app with the plugin, as plain JSON (what `GET /openapi.json` answers). */
export function openapiDocument (app: FastifyInstance): OpenApiDocument {
  return JSON.parse(JSON.stringify(app.swagger())) as OpenApiDocument
}

/**
 * The document of the service with pre-send on, as `npm run openapi` writes it to openapi.json:
 * built from an app with the plugin and pre-send, which is made ready and closed, never listens,
 * and needs no Redis, NATS or data folder.
 */
export async function generateOpenapiDocument (): Promise<OpenApiDocument> {
  const app = Fastify({ logger: false })
  try {
    await app.register(openapi)
    await app.register(easemobCallback, { secrets: ['openapi'], preSend: () => ({ valid: true }) })
    await app.ready()
    return openapiDocument(app)
  } finally {
    await app.close()
  }
}

/** The text of openapi.json: two-space indented, with a final newline. */
export function openapiText (document: OpenApiDocument): string {
  return JSON.stringify(document, null, 2) + '\n'
}
