/**
 * The local stand-in for actions/upload-artifact, run as the step's own process (as the runner runs
 * the real action): its inputs arrive as INPUT_* variables, the runner's variables name the
 * artifact service, and the files under `path` (a file or a directory) are uploaded with the same
 * client library the real action uses. Its log lines and outputs reach the runner through stdout
 * and GITHUB_OUTPUT, like any action's.
 */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { DefaultArtifactClient } from '@actions/artifact';
import { LOCAL_ARTIFACTS_ENV } from './builtin-actions.js';

const name = core.getInput('name') || 'artifact';
const given = core.getInput('path', { required: true });
const root = path.resolve(process.env.GITHUB_WORKSPACE ?? '.', given);
try {
  if (!existsSync(root)) {
    if (core.getInput('if-no-files-found') === 'error')
      throw new Error(`No files were found with the provided path: ${given}. No artifacts will be uploaded.`);
    core.warning(`No files were found with the provided path: ${given}. No artifacts will be uploaded.`);
  } else {
    const directory = statSync(root).isDirectory();
    const files = directory
      ? readdirSync(root, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => path.join(entry.parentPath, entry.name))
      : [root];
    const localDir = process.env[LOCAL_ARTIFACTS_ENV];
    if (localDir && !(process.env.ACTIONS_RUNTIME_TOKEN && process.env.ACTIONS_RESULTS_URL)) {
      // A run from a terminal: no artifact service; the files go into the run's record.
      const kept = path.join(localDir, name);
      const base = directory ? root : path.dirname(root);
      for (const file of files) cpSync(file, path.join(kept, path.relative(base, file)));
      core.info(`upload-artifact: ${name} (${files.length} file(s)) kept in ${kept} (no artifact service)`);
      core.setOutput('artifact-id', '');
      process.exit(0);
    }
    const retention = core.getInput('retention-days');
    const { id, size } = await new DefaultArtifactClient().uploadArtifact(
      name,
      files,
      directory ? root : path.dirname(root),
      {
        retentionDays: retention ? Number(retention) : undefined,
      },
    );
    core.info(`upload-artifact: ${name} (${files.length} file(s), ${size} bytes, id ${id})`);
    core.setOutput('artifact-id', String(id));
  }
} catch (error) {
  core.setFailed((error as Error).message);
}
