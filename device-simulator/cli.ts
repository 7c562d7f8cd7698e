import { parseArgs } from 'node:util';
import { AdminApi } from './admin-api.js';
import { provisionHomes } from './homes.js';
import { seededRandom } from './random.js';
import { runHomes } from './run.js';
import { scenarios, type Scenario } from './scenarios.js';

const usage = `npm run simulate -- [options]
  --api URL            platform HTTP URL [http://127.0.0.1:8080]
  --url URL            MQTT URL [mqtt://127.0.0.1:1883]
  --admin-user NAME    admin username [admin]; password from ADMIN_PASSWORD
  --dong CODE          dong of the simulated homes [1111051500]
  --homes N            number of homes [10]
  --scenario LIST      comma-separated scenarios, cycled over the homes [normal]
                       (${Object.keys(scenarios).join(', ')})
  --duration S         seconds to run [60]
  --seed N             seed for reproducible homes and readings [1]`;

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'http://127.0.0.1:8080' },
    url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    'admin-user': { type: 'string', default: 'admin' },
    dong: { type: 'string', default: '1111051500' },
    homes: { type: 'string', default: '10' },
    scenario: { type: 'string', default: 'normal' },
    duration: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}
const password = process.env.ADMIN_PASSWORD;
if (!password) {
  console.error('set ADMIN_PASSWORD (the platform administrator password)\n\n' + usage);
  process.exit(2);
}
const names = values.scenario.split(',').map((s) => s.trim());
const unknown = names.filter((n) => !scenarios[n]);
if (unknown.length) {
  console.error(`unknown scenario: ${unknown.join(', ')}\n\n${usage}`);
  process.exit(2);
}
const homeCount = Number(values.homes);
const plan: Scenario[] = Array.from({ length: homeCount }, (_, i) => scenarios[names[i % names.length]!]!);
const random = seededRandom(Number(values.seed));

const api = await AdminApi.login(values.api, values['admin-user'], password);
const homes = await provisionHomes(api, values.dong, plan, random);
console.log(`provisioned ${homes.length} homes in dong ${values.dong}; running for ${values.duration} s`);
const summary = await runHomes(homes, { mqttUrl: values.url, durationMs: Number(values.duration) * 1000, random });
console.log(JSON.stringify(summary));
// PUBACKs lost means readings may be lost: fail loudly.
process.exit(summary.failed > 0 ? 1 : 0);
