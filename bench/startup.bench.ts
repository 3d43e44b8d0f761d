import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { actionNames, REPO_ROOT } from '../scripts/actions.js';
import { median, timed, type Benchmark } from './types.js';

/** Cold start of each bundle: node loads dist/<action>/index.js and validates inputs (none given: it fails fast). */
function runBundle(action: string, outputFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', action, 'index.js')], {
      env: { PATH: process.env.PATH, GITHUB_OUTPUT: outputFile },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
}

const benchmark: Benchmark = {
  name: 'startup',
  description: 'cold start of each action bundle (load + input validation), median of 7 runs, against bare `node -e 0`',
  async run() {
    const outputFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-startup-')), 'output');
    writeFileSync(outputFile, '');
    const bare: number[] = [];
    for (let i = 0; i < 7; i++)
      bare.push(
        (await timed(() => new Promise((resolve) => spawn(process.execPath, ['-e', '0']).on('close', resolve)))).ms,
      );
    const metrics = [{ name: 'bare node', value: median(bare), unit: 'ms' }];
    const targets = [];
    for (const action of actionNames()) {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) times.push((await timed(() => runBundle(action, outputFile))).ms);
      const value = median(times);
      metrics.push({ name: action, value, unit: 'ms' });
      targets.push({
        description: `${action} starts in under 500 ms`,
        met: value < 500,
        actual: `${value.toFixed(0)} ms`,
      });
    }
    return { metrics, targets };
  },
};
export default benchmark;
