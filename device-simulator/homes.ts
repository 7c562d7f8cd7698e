import type { DeviceKind } from '../core/schemas/registry.js';
import type { AdminApi } from './admin-api.js';
import { pick } from './random.js';
import type { Scenario } from './scenarios.js';

export interface SimDevice {
  id: string;
  secret: string;
  kind: DeviceKind;
}

export interface Home {
  residentId: string;
  displayName: string;
  dong: string;
  scenario: Scenario;
  devices: SimDevice[];
}

const FAMILY = ['김', '이', '박', '최', '정', '강', '조', '윤', '장', '임', '한', '오'];
const GIVEN = ['영자', '순자', '정자', '옥순', '말순', '영수', '정호', '춘자', '복남', '길자', '상철', '금례'];

/** Registers one resident per scenario entry, with the devices the scenario needs, through the admin API. */
export async function provisionHomes(api: AdminApi, dong: string, plan: readonly Scenario[], random: () => number): Promise<Home[]> {
  const homes: Home[] = [];
  for (const scenario of plan) {
    const displayName = `${pick(random, FAMILY)}${pick(random, GIVEN)}`;
    const resident = await api.addResident({
      displayName,
      dong,
      birthYear: 1936 + Math.floor(random() * 20),
      ...(scenario.inactivityHours ? { inactivityHours: scenario.inactivityHours } : {}),
    });
    const devices: SimDevice[] = [];
    for (const kind of new Set(scenario.devices)) {
      const device = await api.addDevice(resident.id, kind);
      devices.push({ id: device.id, secret: device.secret, kind });
    }
    homes.push({ residentId: resident.id, displayName, dong, scenario, devices });
  }
  return homes;
}
