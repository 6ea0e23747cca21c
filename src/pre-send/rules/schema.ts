import { Type, type Static } from '@sinclair/typebox'

// The pre-send rules file (PRE_SEND_RULES), JSON or YAML. The one definition of its shape: the
// loader validates against it and the compiler's types come from it.
//
//   maskChar: "*"                    # one character; replaces each masked character. Default "*"
//   defaultCode: "message blocked"   # `code` of block rules that give none. Default "message blocked"
//   maskTooLong: block               # block | fallback: a masked reply over Easemob's 1000 characters. Default block
//   rules:                           # evaluated in file order
//     - name: no-phone-numbers       # required, unique, no commas (decisions join names with ",")
//       action: block                # block | mask | pass (pass: only sets chatroomLevel / names the rule)
//       code: "HX:10001"             # block rules only: shown to the sender (docs/protocol.md#pre-send)
//       words: ["badword", "坏词"]    # literal words, matched anywhere in the normalised text
//       patterns: ["1[3-9]\\d{9}"]    # JS regular expressions, flags "giu", run on the normalised text
//       chatTypes: [chat, group, chatroom]   # default all; "groupchat" is accepted for group
//       messageTypes: [txt, custom, combine] # default all text-carrying kinds (mask: all but cmd)
//       ext: ["nickname", "em_apns_ext.em_push_content"]  # ext keys (dotted paths) matched too
//       chatroomLevel: low           # mask/pass rules: chatroom_msg_level when it matches in a room

const Action = Type.Union([Type.Literal('block'), Type.Literal('mask'), Type.Literal('pass')])
/** `chatTypes` spellings: `groupchat` (every doc sample) means `group`, as in chatTypeOf(). */
const ChatTypeName = Type.Union([Type.Literal('chat'), Type.Literal('group'), Type.Literal('groupchat'), Type.Literal('chatroom')])
/** Message kinds that carry text a rule can match; `unknown` carries none. */
const MessageTypeName = Type.Union([
  Type.Literal('txt'), Type.Literal('img'), Type.Literal('audio'), Type.Literal('video'), Type.Literal('file'),
  Type.Literal('loc'), Type.Literal('cmd'), Type.Literal('custom'), Type.Literal('combine')
])
const ChatroomLevel = Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')])

export const RuleSpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^,]+$', errorMessage: 'must be a string of 1 to 64 characters without commas' }),
  action: Action,
  code: Type.Optional(Type.String({ maxLength: 256 })),
  words: Type.Optional(Type.Array(Type.String())),
  patterns: Type.Optional(Type.Array(Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' }))),
  chatTypes: Type.Optional(Type.Array(ChatTypeName, { minItems: 1 })),
  messageTypes: Type.Optional(Type.Array(MessageTypeName, { minItems: 1 })),
  ext: Type.Optional(Type.Array(Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' }))),
  chatroomLevel: Type.Optional(ChatroomLevel)
}, { additionalProperties: false })

export const RulesFile = Type.Object({
  maskChar: Type.Optional(Type.String({
    pattern: '^(?:[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|[\\s\\S])$',
    errorMessage: 'must be exactly one character'
  })),
  defaultCode: Type.Optional(Type.String({ maxLength: 256 })),
  maskTooLong: Type.Optional(Type.Union([Type.Literal('block'), Type.Literal('fallback')])),
  rules: Type.Array(RuleSpec)
}, { additionalProperties: false })

export type RuleSpec = Static<typeof RuleSpec>
export type RulesFile = Static<typeof RulesFile>
export type RuleAction = RuleSpec['action']
export type RuleMessageType = NonNullable<RuleSpec['messageTypes']>[number]

/** Every kind a rule can name, in the order of the kind bits the compiler uses. */
export const RULE_MESSAGE_TYPES: readonly RuleMessageType[] = MessageTypeName.anyOf.map(literal => literal.const)
