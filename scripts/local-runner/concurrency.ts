/**
 * Concurrency groups as GitHub documents them ("Control the concurrency of workflows and jobs"):
 * at most one running and one pending run or job per group (group names case-insensitive). A new
 * arrival while one runs becomes pending, and the run or job pending before it is cancelled
 * ("Canceling since a higher priority waiting request for '<group>' exists"); with
 * cancel-in-progress the running one is cancelled too. A called workflow or a job that needs a
 * group an enclosing run already holds can never get it: GitHub cancels it as a deadlock.
 */
export interface ConcurrencyHolder {
  /** Shown in GitHub's messages: the workflow, or the job (for a called workflow, its calling job). */
  label: string;
  /** Tells holders apart: the run's name, then " › job" for each job down to this one. */
  id: string;
  /** Cancels the holder's run or job (cancel-in-progress). */
  cancelRunning(reason: string): void;
}

export type Acquired = { acquired: true; release(): void } | { acquired: false; reason: string };

interface Waiter {
  holder: ConcurrencyHolder;
  resolve(result: Acquired): void;
}

interface Group {
  name: string;
  running?: ConcurrencyHolder;
  pending?: Waiter;
}

export interface ConcurrencyEvent {
  group: string;
  holder: string;
  event: 'running' | 'pending' | 'cancelled' | 'released';
}

/** Shared by every run that should see the same groups (one repository): pass one to each runWorkflow. */
export class ConcurrencyRegistry {
  private readonly groups = new Map<string, Group>();
  /** Every transition, in order (tests read it to see who waited for whom). */
  readonly events: ConcurrencyEvent[] = [];

  /** Who runs and who waits in a group now (tests poll it). */
  state(group: string): { running?: string; pending?: string } {
    const entry = this.groups.get(group.toLowerCase());
    return { running: entry?.running?.id, pending: entry?.pending?.holder.id };
  }

  /**
   * Resolves when the holder may run (with the function that frees the group), or when it was
   * cancelled while pending. `held` are the groups the holder's enclosing runs hold.
   */
  acquire(
    name: string,
    holder: ConcurrencyHolder,
    options: { cancelInProgress: boolean; held: readonly string[] },
  ): Promise<Acquired> {
    const key = name.toLowerCase();
    if (options.held.some((group) => group.toLowerCase() === key)) {
      this.record(name, holder, 'cancelled');
      return Promise.resolve({
        acquired: false,
        reason: `Canceling since a deadlock for concurrency group '${name}' was detected between 'top level workflow' and '${holder.label}'`,
      });
    }
    let group = this.groups.get(key);
    if (!group) {
      group = { name };
      this.groups.set(key, group);
    }
    if (!group.running) {
      group.running = holder;
      this.record(name, holder, 'running');
      return Promise.resolve(this.grant(group, holder));
    }
    const superseded = group.pending;
    if (superseded) {
      group.pending = undefined;
      this.record(name, superseded.holder, 'cancelled');
      superseded.resolve({
        acquired: false,
        reason: `Canceling since a higher priority waiting request for '${name}' exists`,
      });
    }
    if (options.cancelInProgress)
      group.running.cancelRunning(`Canceling since a higher priority waiting request for '${name}' exists`);
    this.record(name, holder, 'pending');
    return new Promise((resolve) => {
      group.pending = { holder, resolve };
    });
  }

  private grant(group: Group, holder: ConcurrencyHolder): Acquired {
    let released = false;
    return {
      acquired: true,
      release: () => {
        if (released || group.running !== holder) return;
        released = true;
        this.record(group.name, holder, 'released');
        group.running = undefined;
        const next = group.pending;
        if (!next) return;
        group.pending = undefined;
        group.running = next.holder;
        this.record(group.name, next.holder, 'running');
        next.resolve(this.grant(group, next.holder));
      },
    };
  }

  private record(group: string, holder: ConcurrencyHolder, event: ConcurrencyEvent['event']): void {
    this.events.push({ group, holder: holder.id, event });
  }
}
