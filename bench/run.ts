import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

/** What one benchmark reports: named figures and the ratios the bars are set on. */
export interface BenchResult {
  name: string;
  figures: Record<string, number | string>;
  ratios?: Record<string, number>;
  notes?: string;
  influxVersion?: string;
}

export interface BenchOptions {
  quick: boolean;
}

export type Bench = (options: BenchOptions) => Promise<BenchResult[]>;

// Each benchmark is a module `bench/<name>.ts` exporting `run: Bench`; it starts what it needs and stops it.
const benches: Record<string, () => Promise<{ run: Bench }>> = {
  alerts: () => import('./alerts.js'),
  broker: () => import('./broker.js'),
  ingest: () => import('./ingest.js'),
  memory: () => import('./memory.js'),
  scaling: () => import('./scaling.js'),
  split: () => import('./split.js'),
};

const RESULTS = new URL('../../bench/RESULTS.md', import.meta.url);

function record(result: BenchResult, quick: boolean): void {
  if (!existsSync(RESULTS)) {
    writeFileSync(RESULTS, '# Benchmark results\n\nAppended by `npm run bench`; newest last. Ratios compare against the best possible on the same machine in the same run.\n\n| date | bench | machine | figures | ratios |\n|---|---|---|---|---|\n');
  }
  const machine = `${cpus().length} cores, Node ${process.version}${result.influxVersion ? `, InfluxDB ${result.influxVersion}` : ''}${quick ? ', quick' : ''}`;
  const figures = Object.entries(result.figures).map(([k, v]) => `${k}=${v}`).join(', ');
  const ratios = Object.entries(result.ratios ?? {}).map(([k, v]) => `${k}=${(v * 100).toFixed(1)} %`).join(', ');
  appendFileSync(RESULTS, `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} | ${result.name} | ${machine} | ${figures} | ${ratios} |\n`);
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false } } });
const names = positionals.length ? positionals : Object.keys(benches);
const all: BenchResult[] = [];
for (const name of names) {
  const load = benches[name];
  if (!load) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  const { run } = await load();
  for (const result of await run({ quick: values.quick })) {
    console.log(JSON.stringify(result, null, 2));
    record(result, values.quick);
    all.push(result);
  }
}
// Every ratio of the run in one place, as RESULTS.md writes them.
console.log(`\nratios${values.quick ? ' (quick)' : ''}:`);
for (const result of all) {
  for (const [k, v] of Object.entries(result.ratios ?? {})) console.log(`  ${result.name.padEnd(16)} ${k.padEnd(36)} ${(v * 100).toFixed(1)} %`);
}
