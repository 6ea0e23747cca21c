import { chatTypeOf, type ChatType } from '../message.js'
import { RULE_MESSAGE_TYPES, type RuleAction, type RuleMessageType } from './schema.js'

// A rule's scope, the conversations and message kinds it looks at, as bit sets: whether a rule
// applies to a text is then two ANDs.

/** Bit position of each chat type: its bit is 1 << CHAT_INDEX[chat]. */
export const CHAT_INDEX: Record<ChatType, number> = { chat: 0, group: 1, chatroom: 2 }
const ALL_CHATS = 0b111

/** Bit position of each kind a rule can name, in RULE_MESSAGE_TYPES order. */
export const KIND_INDEX = new Map<string, number>(RULE_MESSAGE_TYPES.map((kind, index) => [kind, index]))
const ALL_KINDS = (1 << RULE_MESSAGE_TYPES.length) - 1
const CMD_BIT = 1 << (KIND_INDEX.get('cmd') as number)

/** Chat bits of a rule's `chatTypes`, read as chatTypeOf() reads a message's chat_type. */
export function chatBits (chatTypes: readonly string[] | undefined): number {
  if (chatTypes === undefined) return ALL_CHATS
  let bits = 0
  for (const spelling of chatTypes) bits |= 1 << CHAT_INDEX[chatTypeOf({ chat_type: spelling })]
  return bits
}

/**
 * Kind bits of a rule's `messageTypes`. By default every kind, except that mask rules leave out
 * cmd: Easemob's pre-send documentation says command messages cannot be modified.
 */
export function kindBits (messageTypes: readonly RuleMessageType[] | undefined, action: RuleAction): number {
  if (messageTypes === undefined) return action === 'mask' ? ALL_KINDS & ~CMD_BIT : ALL_KINDS
  let bits = 0
  for (const kind of messageTypes) bits |= 1 << (KIND_INDEX.get(kind) as number)
  return bits
}
