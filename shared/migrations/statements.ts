/**
 * Splits a migration file into the statements psql would send, one by one, so a failure can name
 * the statement and its line, and statements that cannot run in a transaction block can be found
 * before anything runs.
 *
 * The rules are psql's own (src/bin/psql/psqlscan.l): a semicolon ends a statement only outside
 * quotes ('...', E'...', "..."), dollar quotes ($tag$...$tag$), comments (line comments and nested block comments),
 * parentheses, and BEGIN/CASE ... END blocks that follow the first word of a statement (psql 14+
 * counts those so `CREATE FUNCTION ... BEGIN ATOMIC ...; END` stays one statement). Leading
 * whitespace and `--` comments are not part of a statement, as in psql. Running the statements of
 * a file in order therefore does exactly what `psql -f file` does.
 */

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

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;
/** Words kept per statement for classification; the start of a statement is all that matters. */
const MAX_WORDS = 64;

export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = -1; // offset of the current statement's first significant character
  let lastTokenEnd = 0; // end of its last token that is neither whitespace nor a line comment
  let parenDepth = 0;
  let beginDepth = 0;
  let identifierCount = 0;
  let words: string[] = [];
  // Statements start in order, so each line count resumes at the previous statement's start
  // instead of rescanning the script from its first character.
  let countedTo = 0;
  let countedLine = 1;
  const lineOf = (offset: number): number => {
    for (; countedTo < offset && countedTo < sql.length; countedTo++) if (sql[countedTo] === '\n') countedLine++;
    return countedLine;
  };

  const finish = (end: number) => {
    if (start >= 0) {
      const text = sql.slice(start, end);
      // Only a block comment: psql would send it and get an empty response. Nothing to run or report.
      if (stripComments(text).replace(/;$/, '').trim() !== '') statements.push({ text, start, end, line: lineOf(start), words });
    }
    start = -1;
    parenDepth = 0;
    beginDepth = 0;
    identifierCount = 0;
    words = [];
  };

  /** Consumes the token at `i` (neither whitespace nor a line comment); returns where the next one starts. */
  const token = (i: number): number => {
    const char = sql[i];
    const next = sql[i + 1];
    if (char === '/' && next === '*') return skipBlockComment(sql, i);
    if (char === "'") return skipQuoted(sql, i, "'", false);
    if (char === '"') return skipQuoted(sql, i, '"', false);
    if (char === '$') {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 256));
      if (!tag) return i + 1;
      const close = sql.indexOf(tag[0], i + tag[0].length);
      return close < 0 ? sql.length : close + tag[0].length;
    }
    if (IDENT_START.test(char)) {
      let end = i + 1;
      while (end < sql.length && IDENT_CHAR.test(sql[end])) end++;
      const word = sql.slice(i, end);
      if ((word === 'E' || word === 'e') && sql[end] === "'") return skipQuoted(sql, end, "'", true);
      identifierCount++;
      const upper = word.toUpperCase();
      if (words.length < MAX_WORDS) words.push(upper);
      if (upper === 'BEGIN' || upper === 'CASE') {
        if (identifierCount > 1) beginDepth++;
      } else if (upper === 'END' && beginDepth > 0) {
        beginDepth--;
      }
      return end;
    }
    if (/[0-9]/.test(char)) {
      // A number cannot start a word: "1e5" or "2abc" must not count "e5"/"abc" as words.
      let end = i + 1;
      while (end < sql.length && /[0-9A-Za-z_.]/.test(sql[end])) end++;
      return end;
    }
    if (char === '(') parenDepth++;
    else if (char === ')' && parenDepth > 0) parenDepth--;
    return i + 1;
  };

  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    if (char === '-' && sql[i + 1] === '-') {
      // A line comment is whitespace to psql: kept inside a statement, dropped before one.
      const newline = sql.indexOf('\n', i);
      i = newline < 0 ? sql.length : newline + 1;
      continue;
    }
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === ';' && parenDepth === 0 && beginDepth === 0) {
      finish(i + 1);
      i++;
      continue;
    }
    if (start < 0) start = i;
    i = token(i);
    lastTokenEnd = i;
  }
  // The last statement may lack its semicolon; it ends with its last token, not with a trailing comment.
  if (start >= 0) finish(lastTokenEnd);
  return statements;
}

/** Skips a (nested) block comment starting at `from`; an unterminated one runs to the end. */
export function skipBlockComment(sql: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** Skips a quoted literal or identifier starting at `from` (the opening quote); doubled quotes escape. */
function skipQuoted(sql: string, from: number, quote: string, backslashEscapes: boolean): number {
  let i = from + 1;
  while (i < sql.length) {
    const char = sql[i];
    if (backslashEscapes && char === '\\') {
      i += 2;
      continue;
    }
    if (char === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

/** The text without comments, quotes left alone (for "is there anything to run" checks). */
export function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    const next = sql[i + 1];
    if (char === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline < 0 ? sql.length : newline;
    } else if (char === '/' && next === '*') {
      i = skipBlockComment(sql, i);
      out += ' ';
    } else if (char === "'" || char === '"') {
      const end = skipQuoted(sql, i, char, false);
      out += sql.slice(i, end);
      i = end;
    } else if (char === '$') {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 256));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        const end = close < 0 ? sql.length : close + tag[0].length;
        out += sql.slice(i, end);
        i = end;
      } else {
        out += char;
        i++;
      }
    } else {
      out += char;
      i++;
    }
  }
  return out;
}

/** 1-based line number of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/**
 * Where PostgreSQL's error position (1-based, counted in characters of the statement sent) falls
 * in the script: line and column, both 1-based. Undefined when the position is out of range.
 */
export function positionInScript(statement: SqlStatement, script: string, position: number): { line: number; column: number } | undefined {
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

/** The statement's first line, shortened: how a statement is named in a one-line message. */
export function statementHeadline(statement: SqlStatement | string, max = 120): string {
  const text = typeof statement === 'string' ? statement : statement.text;
  const oneLine = stripComments(text).replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}
