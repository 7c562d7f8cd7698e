import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PlatformError } from '../../core/errors.js';
import {
  DeviceInputSchema,
  DevicePatchSchema,
  IdSchema,
  ResidentInputSchema,
  ResidentPatchSchema,
  StaffInputSchema,
  StaffPatchSchema,
} from '../../core/schemas/registry.js';
import type { Registry } from '../../registry/store.js';
import { requireStaff } from '../auth.js';
import { deviceStatusView, type DeviceStatusTracker } from '../device-status.js';
import { parse } from '../validate.js';

export interface RegistryOptions {
  registry: Registry;
  deviceStatus: DeviceStatusTracker;
}

/** Admin-only registry endpoints of CONTRACT §6; the seed, the simulator and the tests provision through them. */
export async function registryPlugin(app: FastifyInstance, { registry, deviceStatus }: RegistryOptions): Promise<void> {
  app.addHook('preHandler', requireStaff(registry, ['admin']));

  app.post('/api/residents', async (request, reply) => {
    reply.code(201);
    return registry.createResident(parse(ResidentInputSchema, request.body));
  });
  app.patch<{ Params: { id: string } }>('/api/residents/:id', async (request) =>
    registry.updateResident(request.params.id, parse(ResidentPatchSchema, request.body)),
  );

  app.get('/api/devices', async (request) => {
    const { residentId } = parse(z.object({ residentId: IdSchema }), request.query);
    if (!registry.getResident(residentId)) throw new PlatformError('not_found', `no resident ${residentId}`, 'residentId');
    const now = Date.now();
    return { devices: registry.listDevices(residentId).map((d) => ({ ...d, status: deviceStatusView(d, deviceStatus.get(d.id), now) })) };
  });
  app.post('/api/devices', async (request, reply) => {
    const { device, secret } = await registry.createDevice(parse(DeviceInputSchema, request.body));
    reply.code(201);
    // The only time the secret leaves the platform: only its scrypt hash is kept.
    return { ...device, secret };
  });
  app.patch<{ Params: { id: string } }>('/api/devices/:id', async (request) =>
    registry.updateDevice(request.params.id, parse(DevicePatchSchema, request.body)),
  );

  app.get('/api/staff', async () => ({ staff: registry.listStaff() }));
  app.post('/api/staff', async (request, reply) => {
    reply.code(201);
    return registry.createStaff(parse(StaffInputSchema, request.body));
  });
  app.patch<{ Params: { username: string } }>('/api/staff/:username', async (request) => {
    const patch = parse(StaffPatchSchema, request.body);
    const admins = registry.listStaff().filter((s) => s.role === 'admin');
    if (patch.role && patch.role !== 'admin' && admins.length === 1 && admins[0]!.username === request.params.username) {
      throw new PlatformError('conflict', 'the last administrator keeps the admin role', 'role');
    }
    return registry.updateStaff(request.params.username, patch);
  });
}
