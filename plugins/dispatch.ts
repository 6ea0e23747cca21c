import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { ERR_HANDLER_FAILED, ERR_HANDLER_TIMEOUT } from '../src/errors.js'
import type { CallbackContext, CallbackHandler, CallbackHandlers } from '../src/options.js'
import { CALLBACK_KINDS, type CallbackEvent, type CallbackKind, isMessageKind } from '../src/schemas/kinds.js'
import { isThenable, type MaybePromise } from '../src/thenable.js'

export interface DispatchPluginOptions {
  handlers: CallbackHandlers
  /** Time the handlers of one callback have inside Easemob's request, in ms. */
  handlerTimeoutMs: number
  /** Told how long each callback's handlers took (metrics); absent: not measured. */
  onHandled?: (kind: string, seconds: number) => void
}

export interface Dispatcher {
  /**
   * Runs the handlers `event` reaches, one after another. Rejects with FST_ERR_EASEMOB_HANDLER_FAILED
   * when one throws, or FST_ERR_EASEMOB_HANDLER_TIMEOUT when they are not done within `budgetMs`
   * (default: the plugin's handlerTimeoutMs).
   */
  dispatch: (event: CallbackEvent, context: CallbackContext, budgetMs?: number) => MaybePromise<void>
}

type Route = ReadonlyArray<{ name: string, handler: CallbackHandler<never> }>

function routeOf (handlers: CallbackHandlers, names: readonly string[]): Route {
  return names.flatMap(name => {
    const handler = (handlers as Record<string, CallbackHandler<never> | undefined>)[name]
    return handler === undefined ? [] : [{ name, handler }]
  })
}

/** The handlers from `from` on, after the one at `from - 1` answered `pending`. */
async function runRest (route: Route, from: number, pending: PromiseLike<unknown>, event: CallbackEvent, context: CallbackContext): Promise<void> {
  let i = from - 1
  try {
    await pending
    for (i = from; i < route.length; i++) await route[i].handler(event as never, context)
  } catch (cause) {
    throw new ERR_HANDLER_FAILED(route[i].name, { cause })
  }
}

/**
 * Settles as `work` does, or rejects with FST_ERR_EASEMOB_HANDLER_TIMEOUT at the budget. Handlers
 * cannot be stopped: one that finishes late is logged, since Easemob's retry may run it again.
 */
function withinBudget (work: Promise<void>, budgetMs: number, event: CallbackEvent, { log }: CallbackContext): Promise<void> {
  return new Promise((resolve, reject) => {
    let late = false
    const timer = setTimeout(() => {
      late = true
      reject(new ERR_HANDLER_TIMEOUT(budgetMs))
    }, budgetMs)
    work.then(() => {
      if (late) {
        log.warn({ callId: event.callId, kind: event.kind }, 'easemob handlers finished after their budget; the retry may have run them again')
        return
      }
      clearTimeout(timer)
      resolve()
    }, (error: unknown) => {
      if (late) {
        log.error({ callId: event.callId, kind: event.kind, err: error }, 'easemob handlers failed after their budget')
        return
      }
      clearTimeout(timer)
      reject(error)
    })
  })
}

/**
 * Owns the handler table: which handlers each kind reaches, in order (its own, `message` for chat
 * messages whatever their body, then `*`), built once at registration. Decorates its context
 * with the dispatcher the routes use.
 */
const dispatch: FastifyPluginCallback<DispatchPluginOptions> = (fastify, options, done) => {
  const { handlers, handlerTimeoutMs, onHandled } = options
  const table = new Map<CallbackKind, Route>()
  for (const kind of CALLBACK_KINDS) table.set(kind, routeOf(handlers, isMessageKind(kind) ? [kind, 'message', '*'] : [kind, '*']))
  const unrecognisedMessage = routeOf(handlers, ['unknown', 'message', '*'])

  // Synchronous while the handlers are; the budget's timer starts with the first that is not.
  const run: Dispatcher['dispatch'] = (event, context, budgetMs = handlerTimeoutMs) => {
    const route = event.kind === 'unknown' && event.unrecognised.message ? unrecognisedMessage : table.get(event.kind) as Route
    for (let i = 0; i < route.length; i++) {
      let result: unknown
      try {
        result = route[i].handler(event as never, context)
      } catch (cause) {
        throw new ERR_HANDLER_FAILED(route[i].name, { cause })
      }
      if (isThenable(result)) return withinBudget(runRest(route, i + 1, result, event, context), budgetMs, event, context)
    }
  }
  const dispatcher: Dispatcher = {
    dispatch: onHandled === undefined ? run : (event, context, budgetMs) => {
      const started = performance.now()
      const took = (): void => { onHandled(event.kind, (performance.now() - started) / 1000) }
      let result: MaybePromise<void>
      try {
        result = run(event, context, budgetMs)
      } catch (error) {
        took()
        throw error
      }
      if (!isThenable(result)) {
        took()
        return result
      }
      return result.then(took, (error: unknown) => { took(); throw error })
    }
  }
  fastify.decorate(DISPATCHER, dispatcher)
  done()
}

const DISPATCHER = 'easemobDispatcher'

/**
 * The dispatcher of the plugin's context. Reached through this function rather than by augmenting
 * Fastify's types, so that a host app's FastifyInstance does not gain a property it does not have.
 */
export function dispatcherOf (fastify: FastifyInstance): Dispatcher {
  return (fastify as FastifyInstance & { [DISPATCHER]: Dispatcher })[DISPATCHER]
}

export default fp(dispatch, { name: 'easemob-dispatch', fastify: '5.x' })
