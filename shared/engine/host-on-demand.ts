import type { HostExecutor } from './executor.js';
import { openHostExecutor, type SshSettings } from './host-inputs.js';

/** An executor opened on first use and handed to every later use; close() ends it, if it was opened. */
export interface HostOnDemand {
  open(): Promise<HostExecutor>;
  close(): Promise<void>;
}

/**
 * The host, opened once however many reads ask it something: compute-rollback-target reads both the
 * ledger and a swarm service on the deploy host, over one SSH connection.
 */
export function hostOnDemand(ssh: SshSettings | undefined, workingDirectory: string): HostOnDemand {
  let opening: ReturnType<typeof openHostExecutor> | undefined;
  return {
    open: () => (opening ??= openHostExecutor(ssh, workingDirectory)),
    async close() {
      // An open that failed has already closed what it started, and its error was reported to whoever asked.
      const executor = await opening?.catch(() => undefined);
      await executor?.close?.();
    },
  };
}
