// Server 2b's log-line variants (BENCH_2B_LINE), shared by the server and the orchestrator's check.
export const LINE_VARIANTS = ['pino', 'no-write', 'template', 'none'] as const
export type LineVariant = typeof LINE_VARIANTS[number]
