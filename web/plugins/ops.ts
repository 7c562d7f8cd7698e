import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../core/metrics.js';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  checks: Record<string, { ok: boolean; detail?: string | number }>;
}

/** `/healthz` for load balancers and `/metrics` for Prometheus (CONTRACT §5). */
export async function opsPlugin(app: FastifyInstance, { metrics, health }: { metrics: Metrics; health: () => HealthReport }): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    const report = health();
    reply.code(report.status === 'down' ? 503 : 200);
    return report;
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
