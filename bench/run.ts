/**
 * npm run bench [name ...]: runs every bench/*.bench.ts (or the named ones) against the real
 * services, prints each metric and whether its target was met, and writes bench/results/*.json.
 * Exits 1 when a target is missed, so a regression is not just a number in a log.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServices } from '../testkit/services/index.js';
import type { Benchmark } from './types.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.includes(file.replace(/\.bench\.ts$/, '')))
  .sort();
if (files.length === 0) {
  console.error(`No benchmark matches ${wanted.join(', ')}.`);
  process.exit(2);
}

const services = await startServices((line) => console.log(line));
const resultsDir = path.join(benchDir, 'results');
mkdirSync(resultsDir, { recursive: true });
let missed = 0;
try {
  for (const file of files) {
    const benchmark = ((await import(pathToFileURL(path.join(benchDir, file)).href)) as { default: Benchmark }).default;
    console.log(`\n## ${benchmark.name}: ${benchmark.description}`);
    const result = await benchmark.run((line) => console.log(`  ${line}`));
    for (const metric of result.metrics)
      console.log(`  ${metric.name}: ${Number(metric.value.toFixed(3))} ${metric.unit}`);
    for (const target of result.targets) {
      console.log(`  target ${target.met ? 'MET   ' : 'MISSED'} ${target.description} (actual: ${target.actual})`);
      if (!target.met) missed++;
    }
    for (const note of result.notes ?? []) console.log(`  note: ${note}`);
    writeFileSync(
      path.join(resultsDir, `${benchmark.name}.json`),
      `${JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2)}\n`,
    );
  }
} finally {
  await services.stop();
}
if (missed > 0) {
  console.error(`\n${missed} target(s) missed.`);
  process.exit(1);
}
