import { InputError } from '../errors.js';

/**
 * The results and outputs of a workflow's jobs, as a job receives them in `${{ toJSON(needs) }}`:
 * `{ "<job>": { "result": "success", "outputs": { "<name>": "<value>" } } }`. The workflow's
 * report steps take this one value instead of a variable per output, so adding an output to a job
 * is wiring, not a change to a list of environment variables.
 */
export const JOB_RESULTS = ['success', 'failure', 'cancelled', 'skipped'] as const;
export type JobResult = (typeof JOB_RESULTS)[number];

export interface JobRecord {
  result: JobResult;
  outputs: Record<string, string>;
}

export class JobResults {
  private constructor(private readonly jobs: Record<string, JobRecord>) {}

  /** Parses the `needs` JSON, naming `input` in errors about its shape. */
  static parse(text: string, input: string): JobResults {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InputError(
        input,
        `must be the JSON of the needs context (\${{ toJSON(needs) }}); it does not parse: ${(error as Error).message}.`,
      );
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new InputError(input, 'must be a JSON object of jobs (${{ toJSON(needs) }}).');
    const jobs: Record<string, JobRecord> = {};
    for (const [job, record] of Object.entries(value as Record<string, unknown>)) {
      const { result, outputs } = (record ?? {}) as { result?: unknown; outputs?: unknown };
      if (!(JOB_RESULTS as readonly unknown[]).includes(result))
        throw new InputError(
          input,
          `job "${job}" has result ${JSON.stringify(result)}; expected one of ${JOB_RESULTS.join(', ')}.`,
        );
      const values: Record<string, string> = {};
      for (const [name, output] of Object.entries((outputs ?? {}) as Record<string, unknown>))
        values[name] = typeof output === 'string' ? output : JSON.stringify(output);
      jobs[job] = { result: result as JobResult, outputs: values };
    }
    return new JobResults(jobs);
  }

  /** A job's result; "skipped" for a job the workflow does not list (it never ran). */
  result(job: string): JobResult {
    return this.jobs[job]?.result ?? 'skipped';
  }

  /** A job's output, undefined when empty or absent (GitHub gives skipped jobs' outputs as ""). */
  output(job: string, name: string): string | undefined {
    const value = this.jobs[job]?.outputs[name];
    return value === undefined || value === '' ? undefined : value;
  }

  /** An output holding milliseconds, as a number; undefined when empty or not a number. */
  milliseconds(job: string, name: string): number | undefined {
    const value = Number(this.output(job, name));
    return this.output(job, name) !== undefined && Number.isFinite(value) ? value : undefined;
  }

  /** An output holding JSON, parsed; undefined when empty or not JSON. */
  json<T>(job: string, name: string): T | undefined {
    const text = this.output(job, name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  }
}

/** A step's outcome (success, failure, cancelled, skipped) in the words of a test matrix. */
export function outcomeWord(outcome: string | undefined): 'passed' | 'failed' | 'not run' {
  if (outcome === 'success') return 'passed';
  if (outcome === 'failure' || outcome === 'cancelled') return 'failed';
  return 'not run';
}

/** Seconds between two ISO timestamps, one decimal; undefined when either is missing or unreadable. */
export function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.round(ms / 100) / 10 : undefined;
}

/** "12.3 s", or "–" for nothing measured. */
export function seconds(ms: number | undefined): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;
}
