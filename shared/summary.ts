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

/**
 * A table. A column empty in every row is left out (three blank "Expected/Actual" columns when
 * everything passed say nothing), so is a table without rows: the caller says "none" if it matters.
 */
export function markdownTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '';
  const kept = header.map((_, index) => index).filter((index) => rows.some((row) => cell(row[index]) !== ''));
  const pick = (values: readonly unknown[]) => kept.map((index) => cell(values[index]));
  const lines = [
    `| ${pick(header).join(' | ')} |`,
    `| ${kept.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${pick(row).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A two-column table of facts, under a header that names its columns (an empty header row renders
 * as a blank bar on GitHub). Rows whose value is undefined are left out.
 */
export function keyValueTable(
  rows: readonly (readonly [string, unknown])[],
  header: readonly [string, string] = ['Detail', 'Value'],
): string {
  return markdownTable(
    header,
    rows.filter(([, value]) => value !== undefined),
  );
}

/** An identifier (database, tag, path, host, user@host) as a code span: shown as typed, never a link. */
export function code(value: unknown): string {
  const text = String(value);
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Free text (an error message) with its user@host addresses in code spans: GitHub would render
 * them as mailto: links. Text already in code spans is left as it is.
 */
export function codeSpanAddresses(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith('`')
        ? part
        : part.replace(/(?<![\w`])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:\/[^\s,;)]*)?/g, (match) => code(match)),
    )
    .join('');
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
