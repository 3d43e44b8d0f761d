import * as core from '@actions/core';
import { openHostExecutor, type SshSettings } from '../engine/host-inputs.js';
import { errorMessage } from '../errors.js';
import { appendLedger, readLedger, type Ledger, type LedgerEntry } from './ledger.js';

/**
 * The deployment ledger file and the host it is on: this runner, or the deploy host over SSH
 * (where redeploy-tag keeps it). The actions that only read or append to it open that host for
 * the one command and close it again, all through here.
 */
export interface LedgerLocation {
  path: string;
  ssh?: SshSettings;
}

/** The file as messages name it: "<path> on <host>:<port>" over SSH (no user@, which a job summary would render as a mail link). */
export function ledgerShown(location: LedgerLocation): string {
  return location.ssh ? `${location.path} on ${location.ssh.host}:${location.ssh.port}` : location.path;
}

/** Opens the ledger's host, hands `use` the ledger there, and closes the connection whatever happens. */
async function withLedger<T>(location: LedgerLocation, use: (ledger: Ledger) => Promise<T>): Promise<T> {
  const executor = await openHostExecutor(location.ssh, process.cwd());
  try {
    return await use({ path: location.path, executor });
  } finally {
    await executor.close?.();
  }
}

/** Every entry, oldest first (readLedger), read on the ledger's host. */
export async function readLedgerAt(location: LedgerLocation): Promise<LedgerEntry[]> {
  return await withLedger(location, readLedger);
}

/**
 * Appends `entry` on the ledger's host; a ledger that cannot be reached or written is a warning,
 * since what the step did (a backup, a verdict) stands. `unreachable` words the warning when the
 * host cannot be opened (by default the error's own message).
 */
export async function appendLedgerOrWarn(
  location: LedgerLocation,
  entry: Parameters<typeof appendLedger>[1],
  unreachable: (error: unknown) => string = errorMessage,
): Promise<void> {
  let opened = false;
  try {
    await withLedger(location, async (ledger) => {
      opened = true;
      await appendLedger(ledger, entry);
    });
  } catch (error) {
    core.warning(opened ? errorMessage(error) : unreachable(error));
  }
}
