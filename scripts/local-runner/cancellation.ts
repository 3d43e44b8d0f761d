/**
 * Cancellation as the runner sees it: a run cancelled (a newer run took its place in a concurrency
 * group), a job cancelled (its timeout-minutes ran out) or a step cancelled (its own timeout). A
 * child is cancelled with its parent; listeners learn the reason once.
 */
export class Cancellation {
  private reasonText?: string;
  private readonly listeners = new Set<(reason: string) => void>();

  constructor(parent?: Cancellation) {
    parent?.onCancel((reason) => this.cancel(reason));
  }

  get cancelled(): boolean {
    return this.reasonText !== undefined;
  }

  get reason(): string | undefined {
    return this.reasonText;
  }

  cancel(reason: string): void {
    if (this.reasonText !== undefined) return;
    this.reasonText = reason;
    for (const listener of [...this.listeners]) listener(reason);
    this.listeners.clear();
  }

  /** Calls `listener` when cancelled (at once if already); returns a function that removes it. */
  onCancel(listener: (reason: string) => void): () => void {
    if (this.reasonText !== undefined) {
      listener(this.reasonText);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A promise that settles when cancelled (never rejects). */
  whenCancelled(): Promise<string> {
    return new Promise((resolve) => this.onCancel(resolve));
  }
}

export function sleep(ms: number, cancellation?: Cancellation): Promise<void> {
  return new Promise((resolve) => {
    // The listener may run at once (already cancelled), before onCancel has returned its remover.
    const listening: { remove?: () => void } = {};
    const timer = setTimeout(done, ms);
    listening.remove = cancellation?.onCancel(done);
    function done() {
      clearTimeout(timer);
      listening.remove?.();
      resolve();
    }
  });
}
