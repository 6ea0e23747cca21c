// Server 2b: bare Fastify with its one route inside a registered plugin (fastify-bare.ts, switched).
//
// Why it is there: on Node 20 an app that registers any encapsulated plugin pays for it on every
// request, in Node's own process.nextTick (see the README's benchmark section). Server 2 registers
// none, so 3 ÷ 2 counts that toll against the callback path; 3 ÷ 2b does not.
process.env.BENCH_ROUTE_IN_PLUGIN = '1'
await import('./fastify-bare.js')
