/**
 * Splits a migration file into the statements psql would send, one by one, so a failure can name
 * the statement and its line, and statements that cannot run in a transaction block can be found
 * before anything runs.
 *
 * The rules are psql's own (src/bin/psql/psqlscan.l): a semicolon ends a statement only outside
 * quotes, dollar quotes and comments (PostgreSQL's scanner, through libpg_query, tells those apart),
 * parentheses, and BEGIN/CASE ... END blocks that follow the first word of a statement (psql 14+
 * counts those so `CREATE FUNCTION ... BEGIN ATOMIC ...; END` stays one statement). Leading
 * whitespace and `--` comments are not part of a statement, as in psql. Running the statements of
 * a file in order therefore does exactly what `psql -f file` does.
 */

import { loadSqlParser, scanTokens, type SqlToken } from './sql-parser.js';

export interface SqlStatement {
  /** The statement as written, from its first word to its terminating semicolon (when it has one). */
  text: string;
  /** Offsets in the script, in UTF-16 code units (JavaScript string indexes); end is exclusive. */
  start: number;
  end: number;
  /** 1-based line of the script where the statement starts. */
  line: number;
  /** Words outside quotes and comments, upper-cased: for recognising what the statement does. */
  words: string[];
}

/** Words kept per statement for classification; the start of a statement is all that matters. */
const MAX_WORDS = 64;

/**
 * Cuts a script where psql would, from the tokens of PostgreSQL's own scanner (libpg_query): a `;`
 * token ends a statement unless it is inside parentheses or a BEGIN/CASE ... END block that follows
 * the statement's first word. When the scanner rejects the script (an unterminated quote or
 * comment), the whole script is one statement: the server then reports the error and its position.
 */
export async function splitStatements(sql: string): Promise<SqlStatement[]> {
  await loadSqlParser();
  const tokens = scanTokens(sql);
  if (tokens === undefined) {
    const start = sql.length - sql.trimStart().length;
    const text = sql.trim();
    return text ? [{ text, start, end: start + text.length, line: lineOf(sql, start), words: [] }] : [];
  }
  const statements: SqlStatement[] = [];
  let current: SqlToken[] = [];
  let parenDepth = 0;
  let beginDepth = 0;
  let wordCount = 0;
  const finish = () => {
    // Line comments before a statement are whitespace to psql; block comments belong to the statement.
    const first = current.findIndex((token) => token.kind !== 'line-comment');
    const meaningful = current.filter(
      (token) => token.kind !== 'line-comment' && token.kind !== 'block-comment' && token.text !== ';',
    );
    if (first >= 0 && meaningful.length > 0) {
      // A last statement without its semicolon ends with its last token, not with a trailing comment.
      const last = current.findLast((token) => token.kind !== 'line-comment')!;
      const start = current[first].start;
      const words = meaningful
        .filter((token) => token.kind === 'word')
        .slice(0, MAX_WORDS)
        .map((token) => token.text.toUpperCase());
      statements.push({ text: sql.slice(start, last.end), start, end: last.end, line: lineOf(sql, start), words });
    }
    current = [];
    parenDepth = 0;
    beginDepth = 0;
    wordCount = 0;
  };
  for (const token of tokens) {
    current.push(token);
    if (token.kind === 'word') {
      wordCount++;
      const upper = token.text.toUpperCase();
      if (upper === 'BEGIN' || upper === 'CASE') {
        if (wordCount > 1) beginDepth++;
      } else if (upper === 'END' && beginDepth > 0) beginDepth--;
    } else if (token.text === '(') parenDepth++;
    else if (token.text === ')' && parenDepth > 0) parenDepth--;
    else if (token.text === ';' && parenDepth === 0 && beginDepth === 0) finish();
  }
  finish();
  return statements;
}

let lineCache: { sql: string; starts: number[] } | undefined;

/** 1-based line of an offset (statements of one script are looked up in turn: its line starts are kept). */
function lineOf(sql: string, offset: number): number {
  if (lineCache?.sql !== sql) {
    const starts = [0];
    for (let index = sql.indexOf('\n'); index >= 0; index = sql.indexOf('\n', index + 1)) starts.push(index + 1);
    lineCache = { sql, starts };
  }
  const { starts } = lineCache;
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle] <= offset) low = middle;
    else high = middle - 1;
  }
  return low + 1;
}

/**
 * Where PostgreSQL's error position (1-based, counted in characters of the statement sent) falls
 * in the script: line and column, both 1-based. Undefined when the position is out of range.
 */
export function positionInScript(
  statement: SqlStatement,
  script: string,
  position: number,
): { line: number; column: number } | undefined {
  if (!Number.isInteger(position) || position < 1) return undefined;
  // PostgreSQL counts characters (code points); JavaScript indexes UTF-16 units.
  const characters = Array.from(statement.text);
  if (position > characters.length + 1) return undefined;
  const offset = statement.start + characters.slice(0, position - 1).join('').length;
  const before = script.slice(0, offset);
  const line = before.split('\n').length;
  const column = Array.from(before.slice(before.lastIndexOf('\n') + 1)).length + 1;
  return { line, column };
}

/** The statement's first line, shortened and without comments: how a statement is named in a one-line message. */
export function statementHeadline(statement: SqlStatement | string, max = 120): string {
  const text = typeof statement === 'string' ? statement : statement.text;
  const tokens = scanTokens(text);
  let code = text;
  // Comments become spaces, from the last so earlier offsets stay valid.
  for (const token of (tokens ?? []).filter((token) => token.kind.endsWith('comment')).reverse())
    code = `${code.slice(0, token.start)} ${code.slice(token.end)}`;
  const oneLine = code.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}
