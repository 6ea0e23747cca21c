import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { CallbackDispatcher } from '../src/augment.js'
import { ERR_HANDLER_FAILED } from '../src/errors.js'
import { isThenable } from '../src/thenable.js'
import type { CallbackHandler, CallbackHandlers } from '../src/options.js'
import { CALLBACK_KINDS, type CallbackKind, isMessageKind } from '../src/schemas/kinds.js'

export interface DispatchPluginOptions {
  handlers: CallbackHandlers
}

type Route = Array<{ name: string, handler: CallbackHandler<never> }>

/** The handlers each kind reaches, in order: its own, `message` for chat messages, then `*`. */
function routeTable (handlers: CallbackHandlers): Map<CallbackKind, Route> {
  const table = new Map<CallbackKind, Route>()
  for (const kind of CALLBACK_KINDS) {
    const names: string[] = [kind]
    if (isMessageKind(kind)) names.push('message')
    names.push('*')
    const route: Route = []
    for (const name of names) {
      const handler = (handlers as Record<string, CallbackHandler<never> | undefined>)[name]
      if (handler !== undefined) route.push({ name, handler })
    }
    table.set(kind, route)
  }
  return table
}

async function runFrom (route: Route, index: number, pending: unknown, event: never, request: FastifyRequest): Promise<void> {
  let i = index
  try {
    await pending
    for (i = index + 1; i < route.length; i++) await route[i].handler(event, request)
  } catch (cause) {
    throw new ERR_HANDLER_FAILED(route[i].name, { cause })
  }
}

/**
 * Decorates the context with `easemobDispatcher`. Handlers of one callback run one after another,
 * so that they see a stable order; the route table is built once, at registration.
 */
const dispatch: FastifyPluginCallback<DispatchPluginOptions> = (fastify, options, done) => {
  const table = routeTable(options.handlers)
  const dispatcher: CallbackDispatcher = {
    dispatch (event, request) {
      const route = table.get(event.kind) as Route
      // Stay synchronous while handlers are: most callbacks reach no handler or a sync one.
      for (let i = 0; i < route.length; i++) {
        let result: unknown
        try {
          result = route[i].handler(event as never, request)
        } catch (cause) {
          return Promise.reject(new ERR_HANDLER_FAILED(route[i].name, { cause }))
        }
        if (isThenable(result)) return runFrom(route, i, result, event as never, request)
      }
      return undefined
    }
  }
  fastify.decorate('easemobDispatcher', dispatcher)
  done()
}

export default fp(dispatch, { name: 'easemob-dispatch', fastify: '5.x' })
