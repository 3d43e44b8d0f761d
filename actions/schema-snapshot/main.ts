import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { ActionError } from '../../shared/errors.js';
import { setOutputs } from '../../shared/outputs.js';
import { describeTarget, resolvePgTarget, serverVersion, withClient } from '../../shared/postgres/connection.js';
import { findPgTool } from '../../shared/postgres/pg-tools.js';
import { dumpSchema, normalizeSchema, schemaDifferences } from '../../shared/postgres/schema.js';
import { codeBlock, writeSummary } from '../../shared/summary.js';
import { readSnapshotInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readSnapshotInputs();
  const target = resolvePgTarget(inputs.databaseUrl);
  const server = await withClient(target, (client) => serverVersion(client));
  const pgDump = await findPgTool('pg_dump', server.major, inputs.pgBinDir);
  const schema = normalizeSchema(await dumpSchema(target, pgDump.path, { excludeTables: inputs.excludeTables }), {
    ignoreColumnOrder: inputs.ignoreColumnOrder,
  });
  mkdirSync(path.dirname(inputs.path), { recursive: true });
  writeFileSync(inputs.path, schema);
  core.info(
    `Schema of ${describeTarget(target)} (PostgreSQL ${server.text}, pg_dump ${pgDump.version}): ${schema.split('\n').length} lines in ${inputs.path}.`,
  );
  if (!inputs.compareTo) {
    setOutputs({ path: inputs.path, equal: '', differences: '' });
    return;
  }
  const differences = schemaDifferences(readFileSync(inputs.compareTo, 'utf8'), schema);
  const equal = differences.onlyInFirst.length === 0 && differences.onlyInSecond.length === 0;
  setOutputs({ path: inputs.path, equal, differences });
  if (equal) {
    core.info(`The schema equals the snapshot in ${inputs.compareTo}.`);
    return;
  }
  const shown = [
    ...differences.onlyInFirst.map((statement) => `- ${statement}`),
    ...differences.onlyInSecond.map((statement) => `+ ${statement}`),
  ].join('\n\n');
  await writeSummary(`### Schema differs from ${path.basename(inputs.compareTo)}\n\n${codeBlock(shown, 'diff')}`);
  throw new ActionError(
    `The schema of ${describeTarget(target)} differs from the snapshot in ${inputs.compareTo}: ${differences.onlyInFirst.length} statement(s) only in the snapshot, ${differences.onlyInSecond.length} only now. First: ${(differences.onlyInFirst[0] ?? differences.onlyInSecond[0]).slice(0, 300)}`,
  );
}
