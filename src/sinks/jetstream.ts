import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType
} from '@nats-io/jetstream'
import { connect, errors, nanos, type NatsConnection, type NodeConnectionOptions, type Status } from '@nats-io/transport-node'
import { ERR_BAD_OPTION, ERR_SINK_FAILED, ERR_SINK_TIMEOUT } from '../errors.js'
import { replayKeyDigest } from '../replay-key.js'
import type { CallbackEvent } from '../schemas/kinds.js'
import type { CallbackSink } from './types.js'

export interface JetStreamSinkOptions {
  /**
   * Where NATS is: `nats://host:4222`, `tls://host:4222` (TLS required), with `user:pass@` or
   * `token@` when the server asks for them; a list, or one string with commas, for a cluster.
   * Either this or `connection`.
   */
  servers?: string | readonly string[]
  /** A connection the application already has; the sink uses it and leaves it open on close(). */
  connection?: NatsConnection
  /** Each callback is published to `<subject>.<kind>`. Default `easemob.callbacks`. */
  subject?: string
  /** The stream that takes `<subject>.>`; created when missing, used as it is when not. Default `EASEMOB_CALLBACKS`. */
  stream?: string
  /**
   * How long JetStream remembers a message id, for a stream the sink creates: the freshness
   * window (maxAgeMs + maxFutureMs), since a copy older than that is stale and never published.
   * Default 361000.
   */
  duplicateWindowMs?: number
  /** How long a stream the sink creates keeps callbacks. Default 604800000 (7 days). */
  maxAgeMs?: number
  /** Time a publish has to be acknowledged, and a probe to be answered. Default 2000. */
  timeoutMs?: number
  /** Wait between reconnect attempts of a connection the sink opens. Default 1000. */
  reconnectWaitMs?: number
}

const DEFAULTS = {
  subject: 'easemob.callbacks',
  stream: 'EASEMOB_CALLBACKS',
  duplicateWindowMs: 361_000,
  maxAgeMs: 7 * 24 * 3600 * 1000,
  timeoutMs: 2000,
  reconnectWaitMs: 1000
}

// A subject prefix of plain tokens: no wildcards, no spaces, no empty token.
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/
const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/

function positiveInteger (name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) throw new ERR_BAD_OPTION(`nats.${name}`, `must be a positive integer of ms, got ${JSON.stringify(value)}`)
  return value
}

/**
 * The client takes only `host:port` from a server URL and would drop `user:pass@` silently, and it
 * does not read `tls://` as "TLS required": both are turned into connection options here.
 */
export function connectionOptionsOf (servers: string | readonly string[]): NodeConnectionOptions {
  const list = (typeof servers === 'string' ? servers.split(',') : [...servers]).map(server => server.trim()).filter(server => server !== '')
  if (list.length === 0) throw new ERR_BAD_OPTION('nats.servers', 'must name at least one server, e.g. nats://host:4222')
  const options: NodeConnectionOptions = { servers: [] }
  let credentials: string | undefined
  for (const server of list) {
    let url: URL
    try {
      url = new URL(server.includes('://') ? server : `nats://${server}`)
    } catch {
      throw new ERR_BAD_OPTION('nats.servers', `${JSON.stringify(server.replace(/\/\/[^@/]*@/, '//…@'))} is not a URL`)
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
      throw new ERR_BAD_OPTION('nats.servers', `${url.protocol}// is not supported: the sink connects over TCP, with nats:// or tls://`)
    }
    if (url.protocol === 'tls:') options.tls = {}
    ;(options.servers as string[]).push(url.host)
    if (url.username === '') continue
    const found = `${url.username}:${url.password}`
    if (credentials !== undefined && credentials !== found) throw new ERR_BAD_OPTION('nats.servers', 'every server URL must carry the same credentials')
    credentials = found
    if (url.password === '') options.token = decodeURIComponent(url.username)
    else Object.assign(options, { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) })
  }
  return options
}

/** A message id safe in a header whatever the key holds (`\u0000`, any Unicode), the same for every copy. */
export function messageIdOf (key: string): string {
  return replayKeyDigest(key)
}

function failureOf (error: unknown, timeoutMs: number): Error {
  if (error instanceof errors.TimeoutError) return new ERR_SINK_TIMEOUT('nats', timeoutMs)
  return new ERR_SINK_FAILED('nats', { cause: error })
}

function isStreamNotFound (error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound
}

interface StreamSettings {
  stream: string
  subject: string
  duplicateWindowMs: number
  maxAgeMs: number
}

/** Creates the stream when it is missing; one that exists is the operator's, and is used as it is. */
async function ensureStream (jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  try {
    await jsm.streams.info(settings.stream)
    return
  } catch (error) {
    if (!isStreamNotFound(error)) throw error
  }
  try {
    await jsm.streams.add({
      name: settings.stream,
      // Stream metadata needs 2.10; a description tells an operator of any version where it came from.
      description: 'Easemob callbacks, created by fastify-easemob-callback',
      subjects: [`${settings.subject}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(settings.maxAgeMs),
      duplicate_window: nanos(settings.duplicateWindowMs)
    })
  } catch (error) {
    // Another replica starting at the same time may have created it first: theirs will do.
    await jsm.streams.info(settings.stream).catch(() => { throw error })
  }
}

/**
 * Publishes each callback to a JetStream stream, under a message id derived from its replay key,
 * and resolves only once JetStream has acknowledged it: JetStream's duplicate window then drops
 * Easemob's retry and every other replica's copy, and the answer is `duplicate`.
 */
export class JetStreamSink implements CallbackSink {
  readonly name = 'nats'
  readonly #nc: NatsConnection
  readonly #js: JetStreamClient
  readonly #jsm: JetStreamManager
  readonly #owned: boolean
  readonly #subject: string
  readonly #stream: string
  readonly #timeoutMs: number
  #connected = true
  /** Rejects when the connection drops, so that publishes in flight fail then and not at their timeout. */
  #dropped!: Promise<never>
  #drop!: (error: Error) => void
  #closing: Promise<void> | undefined

  private constructor (nc: NatsConnection, jsm: JetStreamManager, owned: boolean, settings: StreamSettings & { timeoutMs: number }) {
    this.#nc = nc
    this.#jsm = jsm
    this.#js = jsm.jetstream()
    this.#owned = owned
    this.#subject = settings.subject
    this.#stream = settings.stream
    this.#timeoutMs = settings.timeoutMs
    this.#arm()
    void this.#watch(nc.status())
  }

  /**
   * Connects (or takes `connection`) and creates the stream when missing. Rejects with
   * ERR_SINK_FAILED when NATS cannot be reached or has no JetStream, so that a wrong URL stops the
   * start rather than every callback.
   */
  static async open (options: JetStreamSinkOptions): Promise<JetStreamSink> {
    const subject = options.subject ?? DEFAULTS.subject
    const stream = options.stream ?? DEFAULTS.stream
    if (!SUBJECT.test(subject)) throw new ERR_BAD_OPTION('nats.subject', `must be a subject without spaces or wildcards, got ${JSON.stringify(subject)}`)
    if (!STREAM_NAME.test(stream)) throw new ERR_BAD_OPTION('nats.stream', `must be letters, digits, - and _, got ${JSON.stringify(stream)}`)
    const settings = {
      subject,
      stream,
      duplicateWindowMs: positiveInteger('duplicateWindowMs', options.duplicateWindowMs, DEFAULTS.duplicateWindowMs),
      maxAgeMs: positiveInteger('maxAgeMs', options.maxAgeMs, DEFAULTS.maxAgeMs),
      timeoutMs: positiveInteger('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs)
    }
    // JetStream refuses a duplicate window longer than the stream's max age.
    if (settings.duplicateWindowMs > settings.maxAgeMs) throw new ERR_BAD_OPTION('nats.duplicateWindowMs', 'must not be longer than maxAgeMs')
    const reconnectWaitMs = positiveInteger('reconnectWaitMs', options.reconnectWaitMs, DEFAULTS.reconnectWaitMs)
    if ((options.connection === undefined) === (options.servers === undefined)) throw new ERR_BAD_OPTION('nats', 'pass either servers or connection')

    let nc = options.connection
    if (nc === undefined) {
      const connection = connectionOptionsOf(options.servers as string | readonly string[])
      try {
        nc = await connect({
          ...connection,
          name: 'fastify-easemob-callback',
          // Reconnect forever: a NATS restart must not need a restart of this service as well.
          maxReconnectAttempts: -1,
          reconnectTimeWait: reconnectWaitMs,
          timeout: settings.timeoutMs,
          // The default ping every two minutes would leave a silently dead link (no RST) in place for
          // minutes of 503s; a shorter one finds it and reconnects sooner.
          pingInterval: 10_000
        })
      } catch (error) {
        throw new ERR_SINK_FAILED('nats', { cause: error })
      }
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: settings.timeoutMs })
      await ensureStream(jsm, settings)
      return new JetStreamSink(nc, jsm, options.connection === undefined, settings)
    } catch (error) {
      if (options.connection === undefined) await nc.close()
      throw failureOf(error, settings.timeoutMs)
    }
  }

  #arm (): void {
    this.#dropped = new Promise<never>((_resolve, reject) => { this.#drop = reject })
    this.#dropped.catch(() => {})
  }

  async #watch (statuses: AsyncIterable<Status>): Promise<void> {
    try {
      for await (const status of statuses) {
        if (status.type === 'disconnect' || status.type === 'close') {
          this.#connected = false
          this.#drop(new Error(`the connection to NATS was lost (${status.type})`))
        } else if (status.type === 'reconnect') {
          this.#connected = true
          this.#arm()
        }
        if (this.#closing !== undefined) break
      }
    } finally {
      this.#connected = false
    }
  }

  #refusal (): Error | undefined {
    if (this.#closing !== undefined) return new ERR_SINK_FAILED('nats', { cause: new Error('the sink is closed') })
    // While the client reconnects, a publish would only wait for its timeout: fail at once.
    if (!this.#connected) return new ERR_SINK_FAILED('nats', { cause: new Error('not connected to NATS; the client is reconnecting') })
    return undefined
  }

  async write (event: CallbackEvent, key: string): Promise<boolean> {
    const refusal = this.#refusal()
    if (refusal !== undefined) throw refusal
    try {
      const ack = await Promise.race([
        this.#js.publish(`${this.#subject}.${event.kind}`, JSON.stringify(event), {
          msgID: messageIdOf(key),
          timeout: this.#timeoutMs,
          // A stream other than ours that took the subject would keep it where nobody looks.
          expect: { streamName: this.#stream }
        }),
        this.#dropped
      ])
      return !ack.duplicate
    } catch (error) {
      throw failureOf(error, this.#timeoutMs)
    }
  }

  async probe (): Promise<void> {
    const refusal = this.#refusal()
    if (refusal !== undefined) throw refusal
    try {
      await Promise.race([this.#jsm.streams.info(this.#stream), this.#dropped])
    } catch (error) {
      throw failureOf(error, this.#timeoutMs)
    }
  }

  close (): Promise<void> {
    this.#closing ??= this.#shutDown()
    return this.#closing
  }

  async #shutDown (): Promise<void> {
    if (!this.#owned || this.#nc.isClosed()) return
    // Drain lets acknowledgements in flight arrive; a connection that is down has none to wait for.
    if (this.#connected) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>(resolve => { timer = setTimeout(resolve, this.#timeoutMs) })
      await Promise.race([this.#nc.drain().catch(() => {}), late]).finally(() => clearTimeout(timer))
    }
    await this.#nc.close()
  }
}
