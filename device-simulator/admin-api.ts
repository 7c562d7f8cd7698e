import type { DeviceKind } from '../core/schemas/registry.js';

/** The admin REST calls the simulator and the demo seed provision through (CONTRACT §6). */
export class AdminApi {
  private constructor(private readonly baseUrl: string, private readonly token: string) {}

  static async login(baseUrl: string, username: string, password: string): Promise<AdminApi> {
    const response = await fetch(`${baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (!response.ok) throw new Error(`admin login failed: HTTP ${response.status}`);
    return new AdminApi(baseUrl, ((await response.json()) as { token: string }).token);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${path} → HTTP ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  addResident(body: { displayName: string; dong: string; birthYear?: number; inactivityHours?: number }) {
    return this.post<{ id: string }>('/api/residents', body);
  }

  addDevice(residentId: string, kind: DeviceKind) {
    return this.post<{ id: string; secret: string; kind: DeviceKind }>('/api/devices', { residentId, kind });
  }

  addStaff(body: { username: string; password: string; displayName: string; role: string; dongs: string[] }) {
    return this.post<{ username: string }>('/api/staff', body);
  }
}
