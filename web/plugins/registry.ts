import type { FastifyInstance } from 'fastify';
import {
  DeviceInputSchema,
  DevicePatchSchema,
  ResidentInputSchema,
  ResidentPatchSchema,
  StaffInputSchema,
} from '../../core/schemas/registry.js';
import type { Registry } from '../../registry/store.js';
import { requireStaff } from '../auth.js';
import { parse } from '../validate.js';

/** Admin-only registry endpoints of CONTRACT §6; the seed, the simulator and the tests provision through them. */
export async function registryPlugin(app: FastifyInstance, { registry }: { registry: Registry }): Promise<void> {
  app.addHook('preHandler', requireStaff(registry, ['admin']));

  app.post('/api/residents', async (request, reply) => {
    reply.code(201);
    return registry.createResident(parse(ResidentInputSchema, request.body));
  });
  app.patch<{ Params: { id: string } }>('/api/residents/:id', async (request) =>
    registry.updateResident(request.params.id, parse(ResidentPatchSchema, request.body)),
  );

  app.post('/api/devices', async (request, reply) => {
    const { device, secret } = await registry.createDevice(parse(DeviceInputSchema, request.body));
    reply.code(201);
    // The only time the secret leaves the platform: only its scrypt hash is kept.
    return { ...device, secret };
  });
  app.patch<{ Params: { id: string } }>('/api/devices/:id', async (request) =>
    registry.updateDevice(request.params.id, parse(DevicePatchSchema, request.body)),
  );

  app.post('/api/staff', async (request, reply) => {
    reply.code(201);
    return registry.createStaff(parse(StaffInputSchema, request.body));
  });
}
