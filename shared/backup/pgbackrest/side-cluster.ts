import * as core from '@actions/core';
import { createServer } from 'node:net';
import { ActionError, errorMessage } from '../../errors.js';
import type { PgTarget } from '../../postgres/connection.js';
import { serverRunsOn, stopServer, tailOf, waitUntilPromoted, type RecoveredServer } from './cluster.js';
import type { PgBackRestHost } from './host.js';
import { restoreOptions, type RecoveryPlan } from './recovery.js';

/**
 * A restored copy of the cluster in a new data directory, started on a side port beside the live
 * server: for drills, inspection, and copying tables back. Its archiving is off (it must never push
 * a timeline of its own into the live stanza's archive), and a marker file says that restore-db
 * made it, so that only such a directory is ever removed.
 */
export const SIDE_MARKER = 'rollback-actions-side-cluster.json';
export const SIDE_LOG = 'rollback-actions-side.log';

export interface SideCluster {
  dataDirectory: string;
  port: number;
  /** The restored database, reached like the live one but on the side port. */
  target: PgTarget;
}

export interface SideClusterRequest {
  dataDirectory: string;
  port: number;
  major: string;
  timeoutMs: number;
  /** Where the side cluster is reached (database-url's host and database, the side port). */
  target: PgTarget;
  /**
   * The live server's settings a side cluster needs when its configuration lives outside the data
   * directory (Debian's /etc/postgresql): pgBackRest restores only the data directory.
   */
  liveSettings?: { hbaFile: string; identFile: string; listenAddresses: string; socketDirectories: string };
  /**
   * A check that runs while the files are restored (the stanza's): the cluster starts only once it
   * has passed. When it fails, the restore is stopped where it runs and its directory removed, and
   * the check's error is the one thrown.
   */
  startsAfter?: Promise<void>;
}

/**
 * A postgres:// URL of the side cluster's database: the live database-url's user, password, host
 * and settings on the side port, for the steps that work on the restored copy (a drill's checks).
 */
export function sideClusterUrl(target: PgTarget): string {
  const url = new URL('postgres://localhost');
  url.hostname = target.host.includes(':') ? `[${target.host}]` : target.host;
  url.port = String(target.port);
  url.username = encodeURIComponent(target.user);
  if (target.password !== undefined) url.password = encodeURIComponent(target.password);
  url.pathname = `/${encodeURIComponent(target.database)}`;
  if (target.sslmode) url.searchParams.set('sslmode', target.sslmode);
  return url.toString();
}

/** A TCP port nothing listens on now, on this runner (for a side cluster that runs here). */
export async function freeLocalPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function exists(host: PgBackRestHost, file: string): Promise<boolean> {
  const result = await host.run('ls', ['-d', '--', file], { okExitCodes: [0, 1, 2] });
  return result.exitCode === 0;
}

async function writeFileThere(host: PgBackRestHost, file: string, text: string): Promise<void> {
  await host.run('tee', ['--', file], { input: text });
}

const confValue = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export async function restoreSideCluster(
  host: PgBackRestHost,
  plan: RecoveryPlan,
  request: SideClusterRequest,
): Promise<{ side: SideCluster; recovered: RecoveredServer }> {
  const dir = request.dataDirectory;
  const [listed, pgCtl] = await Promise.all([
    host.run('ls', ['-A', '--', dir], { okExitCodes: [0, 1, 2] }),
    host.serverProgram('pg_ctl', request.major),
  ]);
  if (listed.exitCode === 0 && listed.stdout.trim() !== '') {
    throw new ActionError(
      `The side data directory ${dir} on ${host.description} already exists and is not empty; restore-db never restores over a directory it did not make. Nothing was restored.`,
      {
        hint: 'Choose another side-data-dir, or remove the old side cluster first (remove-side-cluster).',
      },
    );
  }
  const log = `${dir}/${SIDE_LOG}`;
  try {
    const restoring = host.startLogged(`pgbackrest restore into ${dir} (${plan.description})`, 'restore', [
      ...restoreOptions(plan),
      `--pg1-path=${dir}`,
      '--archive-mode=off',
      `--recovery-option=port=${request.port}`,
    ]);
    const checked = (request.startsAfter ?? Promise.resolve()).catch(async (error: unknown) => {
      await restoring.stop();
      throw error;
    });
    checked.catch(() => undefined);
    // A restore that fails on its own waits for the check: a failed check is the cause to report.
    await restoring.done.catch(async (error: unknown) => {
      await checked;
      throw error;
    });
    await checked;
    const [, configured] = await Promise.all([
      writeFileThere(
        host,
        `${dir}/${SIDE_MARKER}`,
        `${JSON.stringify({ madeBy: 'rollback-actions restore-db', port: request.port, backup: plan.backup.label, target: plan.description, at: new Date().toISOString() })}\n`,
      ),
      exists(host, `${dir}/postgresql.conf`),
    ]);
    if (!configured) {
      if (!request.liveSettings)
        throw new ActionError(
          `The restored data directory has no postgresql.conf (the live server keeps its configuration elsewhere), and the live server's settings could not be read to write one.`,
        );
      const settings = request.liveSettings;
      await writeFileThere(
        host,
        `${dir}/postgresql.conf`,
        [
          '# Written by rollback-actions restore-db for a side cluster: the live configuration lives outside its data directory.',
          `hba_file = ${confValue(settings.hbaFile)}`,
          `ident_file = ${confValue(settings.identFile)}`,
          `listen_addresses = ${confValue(settings.listenAddresses)}`,
          `unix_socket_directories = ${confValue(settings.socketDirectories)}`,
          '',
        ].join('\n'),
      );
    }
    core.info(`Starting the restored cluster on port ${request.port}.`);
    await host
      .run(pgCtl, ['start', '-D', dir, '-l', log, '-w', '-t', String(Math.ceil(request.timeoutMs / 1000))], {
        timeoutMs: request.timeoutMs + 30_000,
      })
      .catch(async (error: unknown) => {
        throw new ActionError(
          `The restored cluster in ${dir} did not start: ${errorMessage(error)}\n${await tailOf(host, log).catch(() => '')}`,
        );
      });
    const recovered = await waitUntilPromoted(
      request.target,
      request.timeoutMs,
      () => serverRunsOn(host, pgCtl, dir),
      () => tailOf(host, log),
    );
    return { side: { dataDirectory: dir, port: request.port, target: request.target }, recovered };
  } catch (error) {
    // The directory did not exist (or was empty) before: what is in it now is this step's, and unusable.
    await stopServer(host, pgCtl, dir, 'immediate').catch(() => undefined);
    await host
      .run('rm', ['-rf', '--', dir])
      .catch((reason: unknown) => core.warning(`Could not remove ${dir}: ${errorMessage(reason)}`));
    throw error;
  }
}

/**
 * Stops a side cluster, and with `remove` deletes its directory: only one that carries restore-db's
 * marker. `running`: the cluster this step restored and started (its marker written, its server
 * answering), which needs neither looked up again.
 */
export async function retireSideCluster(
  host: PgBackRestHost,
  dataDirectory: string,
  major: string,
  remove: boolean,
  running?: SideCluster,
): Promise<void> {
  if (!running && !(await exists(host, `${dataDirectory}/${SIDE_MARKER}`))) {
    throw new ActionError(
      `${dataDirectory} on ${host.description} has no ${SIDE_MARKER}: it is not a side cluster restore-db made, and is left alone.`,
    );
  }
  const pgCtl = await host.serverProgram('pg_ctl', major);
  await stopServer(host, pgCtl, dataDirectory, remove ? 'immediate' : 'fast', running !== undefined);
  if (remove) {
    await host.run('rm', ['-rf', '--', dataDirectory]);
    core.info(`Removed the side cluster ${dataDirectory}.`);
  }
}
