import type { FastifyInstance } from 'fastify'

/**
 * Makes `app` stop within `timeoutMs` of a signal, and returns the function that starts the stop.
 * On stop: no new connections, idle keep-alive connections closed (Node's server.close does that),
 * requests already in flight finish and are answered with `Connection: close`, so no client holds
 * the process open. Whatever is still open at the bound is cut off and logged; Easemob retries
 * a callback it got no answer for.
 *
 * Call before the app is ready: it adds the hook that writes `Connection: close`.
 */
export function gracefulShutdown (app: FastifyInstance, timeoutMs: number): (signal: string) => Promise<number> {
  let stopping: Promise<number> | undefined
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (stopping !== undefined) reply.header('connection', 'close')
    done(null, payload)
  })
  return async function stop (signal) {
    stopping ??= new Promise<number>(resolve => {
      app.log.info({ signal, timeoutMs }, 'shutting down: finishing in-flight callbacks')
      const bound = setTimeout(() => {
        app.server.getConnections((_error, connections) => {
          app.log.error({ connections, timeoutMs }, 'shutdown bound reached: cutting off the connections still open; Easemob retries what was not answered')
          app.server.closeAllConnections()
          resolve(1)
        })
      }, timeoutMs)
      bound.unref()
      app.close().then(() => {
        clearTimeout(bound)
        app.log.info('stopped')
        resolve(0)
      }, (error: unknown) => {
        clearTimeout(bound)
        app.log.error({ err: error }, 'error while shutting down')
        resolve(1)
      })
    })
    return await stopping
  }
}
