import type { CallbackEvent } from '../schemas/kinds.js'

/**
 * A destination that keeps each callback before it is answered 200: a Redis stream, a JetStream
 * stream. Each keeps its own duplicate memory, so that replicas writing to it agree on what was
 * taken.
 */
export interface CallbackSink {
  /** A short name for logs and readiness: `redis`, `nats`. */
  readonly name: string
  /**
   * Keeps `event` under `key` (the replay key: the callId, and the recipient of a `chat_offline`
   * copy). Resolves true once it is safely kept, false when `key` is already held. Rejects when it
   * cannot within its time budget: the callback is then answered 503 and Easemob retries.
   */
  write: (event: CallbackEvent, key: string) => Promise<boolean>
  /** Throws when the sink cannot take callbacks now (what /readyz asks). */
  probe: () => Promise<void>
  close: () => Promise<void>
}
