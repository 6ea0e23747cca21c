import plugin from './plugin.js'

export default plugin
export { plugin as easemobCallback }
export type { CallbackHandler, CallbackHandlers, EasemobCallbackOptions, PreSendHandler, StaleReason } from './options.js'
export type { CallbackEvent, CallbackKind, MessageEvent, MessageKind } from './schemas/kinds.js'
export { CALLBACK_KINDS, MESSAGE_KINDS, callbackSchemas } from './schemas/kinds.js'
export { BatchedLogDestination, batchedLogDestination, type BatchedLogDestinationOptions, type LogDestinationFs } from './log-destination.js'
export { computeSecurity, signCallback, checkSecurity } from './signature.js'
export { classify } from './classify.js'
export type { ReplayStore } from './store/types.js'
export { MemoryReplayStore } from './store/memory.js'
export * from './errors.js'
export type { CallbackTrace } from './augment.js'
export type { PreSendBody, PreSendDecision, PreSendKind, PreSendMessage, PreSendReply, PreSendRequest } from './schemas/pre-send.js'
export { bodiesOf, bodyKind, chatTypeOf, extOf, isBodiesPayload, rewritePayload, type ChatType } from './presend/message.js'
