/**
 * Errors an action reports to its user as-is (no stack trace): the message is the whole story.
 * `hint` carries the next step ("install postgresql-client-16", "run migrate force 4").
 */
export class ActionError extends Error {
  readonly hint?: string;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.hint = options?.hint;
  }
}

/** A bad input value. Always names the input and what was wrong, before anything is changed. */
export class InputError extends ActionError {
  readonly input: string;
  constructor(input: string, problem: string, options?: { hint?: string }) {
    super(`Input "${input}" ${problem}`, options);
    this.name = 'InputError';
    this.input = input;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
