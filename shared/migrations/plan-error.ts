import { ActionError } from '../errors.js';

/** One or more reasons a plan cannot run, all found before anything changed. */
export class MigrationPlanError extends ActionError {
  readonly problems: string[];
  constructor(problems: string[], hint?: string) {
    super(
      problems.length === 1
        ? `${problems[0]} Nothing was changed.`
        : `${problems.length} problems, found before anything was changed:\n${problems.map((problem) => `- ${problem}`).join('\n')}`,
      { hint },
    );
    this.name = 'MigrationPlanError';
    this.problems = problems;
  }
}
