import { existsSync, rmSync } from 'node:fs';
import { ActionError } from './errors.js';

/**
 * What a step does when the runner stops it. On cancel and on timeout the runner sends SIGINT,
 * then SIGTERM 7.5 s later, then kills the process tree 2.5 s after that; a step that only dies
 * leaves its database sessions running (holding their locks until statement_timeout), its child
 * programs writing, and half-written files behind. So everything that runs something registers
 * how to stop it here (process.ts its children, connection.ts its sessions' statements), files
 * being written are registered until they are complete, and run-action.ts turns a signal into
 * `cancel()`, a summary of what was and was not done, and an exit code.
 *
 * The journal records, for that summary and for every other failure, the milestones the step
 * reached and the cleaning up it did, in words.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export class CancelledError extends ActionError {
  constructor(what: string) {
    super(`${what} because the step was cancelled.`);
    this.name = 'CancelledError';
  }
}

type Stopper = () => Promise<void> | void;

class Cancellation {
  private readonly controller = new AbortController();
  /** Aborted on cancellation: for waits (lock polling, retries, sleeps) to end early. */
  readonly signal: AbortSignal = this.controller.signal;
  reason?: StopSignal;
  /** When the signal arrived (Date.now()). */
  at?: number;
  private readonly stoppers = new Set<Stopper>();
  private readonly partial = new Set<string>();

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  /** Registers how to stop something running now; returns the function that unregisters it. */
  onCancel(stop: Stopper): () => void {
    this.stoppers.add(stop);
    return () => this.stoppers.delete(stop);
  }

  /** Stops everything registered, once; later calls return at once. */
  async cancel(signal: StopSignal): Promise<void> {
    if (this.reason) return;
    this.reason = signal;
    this.at = Date.now();
    this.controller.abort(new CancelledError('Stopped'));
    const stoppers = [...this.stoppers];
    this.stoppers.clear();
    await Promise.allSettled(stoppers.map(async (stop) => stop()));
  }

  /** Throws CancelledError once the step is cancelled: call before starting anything long. */
  throwIfCancelled(what: string): void {
    if (this.cancelled) throw new CancelledError(what);
  }

  /**
   * Registers a file or directory being written; the writer calls the returned function once it
   * is complete (or removed). Whatever is still registered when the step fails is removed.
   */
  partialFile(file: string): () => void {
    this.partial.add(file);
    return () => this.partial.delete(file);
  }

  /** Removes every registered partial file (synchronously: this runs on the way out). */
  removePartialFiles(): void {
    for (const file of this.partial) removeNow(file);
    this.partial.clear();
  }
}

export const cancellation = new Cancellation();

/** Waits `ms`, or less when the step is cancelled meanwhile (then throws CancelledError with `what`). */
export async function pause(ms: number, what: string): Promise<void> {
  const { signal } = cancellation;
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
  cancellation.throwIfCancelled(what);
}

/** What the step reached and what it cleaned up, in words, for the failure summary. */
class Journal {
  readonly done: string[] = [];
  readonly cleaned: string[] = [];
  /** A milestone reached ("Took the migration lock (advisory lock 123)"). */
  step(text: string): void {
    this.done.push(text);
  }
  /** Something stopped or removed because the step failed or was cancelled. */
  cleanup(text: string): void {
    if (!this.cleaned.includes(text)) this.cleaned.push(text);
  }
}

export const journal = new Journal();

function removeNow(file: string): void {
  if (!existsSync(file)) return;
  rmSync(file, { recursive: true, force: true });
  journal.cleanup(`removed the partial ${file}`);
}

/** Removes a half-written file or directory, if it is there, and records that it did. */
export function removePartial(file: string): void {
  try {
    removeNow(file);
  } catch (error) {
    journal.cleanup(`could not remove the partial ${file}: ${(error as Error).message}`);
  }
}
