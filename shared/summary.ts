import * as core from '@actions/core';
import { booleanInput } from './inputs.js';

/**
 * Markdown builders for job summaries. Markdown rather than core.summary's HTML helpers so the same
 * text can be printed to the log, asserted in tests and pasted into an incident record.
 */

/** Escapes a table cell: pipes split cells, newlines end rows. */
export function cell(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export function markdownTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const lines = [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** A two-column key/value table. Rows whose value is undefined are left out. */
export function keyValueTable(rows: readonly (readonly [string, unknown])[]): string {
  return markdownTable(
    ['', ''],
    rows.filter(([, value]) => value !== undefined),
  );
}

export function codeBlock(code: string, language = ''): string {
  const fence = code.includes('```') ? '````' : '```';
  return `${fence}${language}\n${code.replace(/\n$/, '')}\n${fence}\n`;
}

export function details(title: string, body: string): string {
  return `<details><summary>${title}</summary>\n\n${body}\n</details>\n`;
}

/** Whether a summary is to be written: the runner gave a summary file and job-summary is not false. */
export function summaryWanted(): boolean {
  return Boolean(process.env.GITHUB_STEP_SUMMARY) && booleanInput('job-summary', { default: true });
}

/**
 * Appends markdown to the job summary: the one writer, so every action's job-summary input is
 * honoured here. A no-op (not a failure) where the runner gave no summary file.
 */
export async function writeSummary(markdown: string): Promise<void> {
  if (!summaryWanted()) return;
  await core.summary.addRaw(markdown, true).write();
}
