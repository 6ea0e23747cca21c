import createError from '@fastify/error'

// Every failure the plugin can answer with. Codes are stable: users match on them in logs and alerts.

export const ERR_NO_SECRET = createError(
  'FST_ERR_EASEMOB_NO_SECRET',
  'no Easemob callback secret configured: pass `secrets` (one per console rule) or set the insecure development switch',
  500
)
export const ERR_BAD_OPTION = createError('FST_ERR_EASEMOB_BAD_OPTION', 'invalid option %s: %s', 500)

export const ERR_BAD_JSON = createError('FST_ERR_EASEMOB_BAD_JSON', 'request body is not valid JSON: %s', 400)
export const ERR_EMPTY_BODY = createError('FST_ERR_EASEMOB_EMPTY_BODY', 'request body is empty; Easemob sends a JSON object', 400)
export const ERR_PROTO_POISONING = createError(
  'FST_ERR_EASEMOB_PROTO_POISONING',
  'request body contains a forbidden key (__proto__ or constructor.prototype)',
  400
)
export const ERR_UNSUPPORTED_CHARSET = createError(
  'FST_ERR_EASEMOB_UNSUPPORTED_CHARSET',
  'request body charset %s is not supported; Easemob sends UTF-8 JSON',
  415
)
export const ERR_INVALID_ENVELOPE = createError('FST_ERR_EASEMOB_INVALID_ENVELOPE', 'invalid callback: %s', 400)

export const ERR_SIGNATURE_MISSING = createError(
  'FST_ERR_EASEMOB_SIGNATURE_MISSING',
  'callback has no `security` field; Easemob signs every callback with md5(callId + secret + timestamp)',
  401
)
export const ERR_SIGNATURE_MALFORMED = createError(
  'FST_ERR_EASEMOB_SIGNATURE_MALFORMED',
  '`security` must be 32 hexadecimal characters (an MD5 digest)',
  401
)
export const ERR_SIGNATURE_MISMATCH = createError(
  'FST_ERR_EASEMOB_SIGNATURE_MISMATCH',
  '`security` does not match md5(callId + secret + timestamp) for any configured secret',
  401
)

export const ERR_HANDLER_FAILED = createError(
  'FST_ERR_EASEMOB_HANDLER_FAILED',
  'the %s handler failed',
  500
)

export const ERR_HANDLER_TIMEOUT = createError(
  'FST_ERR_EASEMOB_HANDLER_TIMEOUT',
  'the handlers did not finish within %d ms; answering 503 so that Easemob retries once',
  503
)

export const ERR_OUTBOX_WRITE_FAILED = createError(
  'FST_ERR_EASEMOB_OUTBOX_WRITE_FAILED',
  'the callback could not be written to the outbox; answering 503 so that Easemob retries once',
  503
)
export const ERR_OUTBOX_WRITE_TIMEOUT = createError(
  'FST_ERR_EASEMOB_OUTBOX_WRITE_TIMEOUT',
  'the outbox did not confirm the write within %d ms; answering 503 so that Easemob retries once',
  503
)

export const ERR_SINK_FAILED = createError(
  'FST_ERR_EASEMOB_SINK_FAILED',
  'the %s sink could not keep the callback; answering 503 so that Easemob retries once',
  503
)
export const ERR_SINK_TIMEOUT = createError(
  'FST_ERR_EASEMOB_SINK_TIMEOUT',
  'the %s sink did not confirm the callback within %d ms; answering 503 so that Easemob retries once',
  503
)
export const ERR_REPLAY_STORE_FAILED = createError(
  'FST_ERR_EASEMOB_REPLAY_STORE_FAILED',
  'the shared duplicate memory did not answer; answering 503 so that Easemob retries once',
  503
)
