import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node, ParseResult, RangeVar } from 'libpg-query';
import { ActionError, errorMessage } from '../errors.js';
import { splitStatements } from './statements.js';

/**
 * PostgreSQL's own grammar (libpg_query compiled to WebAssembly), so a migration is read exactly as
 * the server will read it: dollar quoting, nested comments and `E''` strings included.
 */

type LibPgQuery = typeof import('libpg-query');

let loading: Promise<LibPgQuery> | undefined;
let loaded: LibPgQuery | undefined;

/**
 * Where the parser's .wasm file is. ncc sees this `new URL(..., import.meta.url)`, copies the file
 * next to the bundle and rewrites the expression to that path (a plain path, not a file: URL).
 */
function wasmDirectory(): string {
  const located = String(new URL('../../node_modules/libpg-query/wasm/libpg-query.wasm', import.meta.url));
  const file = located.startsWith('file:') ? fileURLToPath(located) : located;
  if (!existsSync(file))
    throw new ActionError(
      `The SQL parser's WebAssembly file is missing (looked for ${file}); the action bundle is incomplete.`,
    );
  return path.dirname(file);
}

/**
 * Loads the parser once. Its Emscripten loader finds the .wasm through the CommonJS `__dirname`,
 * which does not exist in the ESM bundle, so the bundle's copy is named there for the moment the
 * loader starts (under node's own CommonJS loader, as in tests, the module's real `__dirname` wins).
 */
export function loadSqlParser(): Promise<LibPgQuery> {
  // Not `??=`: ncc's asset relocator cannot parse logical assignment and would then leave the .wasm
  // to webpack, which copies it as text and corrupts it.
  if (loading === undefined) loading = importParser();
  return loading;
}

async function importParser(): Promise<LibPgQuery> {
  const scope = globalThis as { __dirname?: string };
  const previous = scope.__dirname;
  scope.__dirname = wasmDirectory();
  try {
    const parser = await import('libpg-query');
    await parser.loadModule();
    loaded = parser;
    return parser;
  } catch (error) {
    throw new ActionError(`The PostgreSQL SQL parser could not be loaded: ${errorMessage(error)}`);
  } finally {
    if (previous === undefined) delete scope.__dirname;
    else scope.__dirname = previous;
  }
}

export interface SqlToken {
  /** A word is a keyword or an unquoted identifier; `other` covers literals, operators and punctuation. */
  kind: 'word' | 'line-comment' | 'block-comment' | 'other';
  text: string;
  /** Offsets in the text, in UTF-16 code units (JavaScript string indexes); end is exclusive. */
  start: number;
  end: number;
}

/**
 * PostgreSQL's scanner over `sql`, comments included, or undefined when it rejects the text (an
 * unterminated quote or comment). The parser must have been loaded (loadSqlParser) before.
 */
export function scanTokens(sql: string): SqlToken[] | undefined {
  if (loaded === undefined) throw new Error('scanTokens needs the SQL parser: await loadSqlParser() first.');
  let scanned;
  try {
    scanned = loaded.scanSync(sql).tokens ?? [];
  } catch {
    return undefined;
  }
  const index = codeUnitIndex(sql);
  return scanned.map((token) => ({
    kind:
      token.tokenName === 'SQL_COMMENT'
        ? 'line-comment'
        : token.tokenName === 'C_COMMENT'
          ? 'block-comment'
          : token.keywordKind > 0 || (token.tokenName === 'IDENT' && !token.text.startsWith('"'))
            ? 'word'
            : 'other',
    text: token.text,
    start: index(token.start),
    end: index(token.end),
  }));
}

/** Maps the scanner's UTF-8 byte offsets to string indexes. */
function codeUnitIndex(sql: string): (byteOffset: number) => number {
  if (Buffer.byteLength(sql) === sql.length) return (byteOffset) => byteOffset;
  const indexes: number[] = [];
  let byte = 0;
  for (let unit = 0; unit < sql.length; unit++) {
    const code = sql.charCodeAt(unit);
    const width =
      code < 0x80
        ? 1
        : code < 0x800
          ? 2
          : code >= 0xd800 && code < 0xdc00
            ? 4
            : code >= 0xdc00 && code < 0xe000
              ? 0
              : 3;
    for (let count = 0; count < width; count++) indexes[byte + count] = unit;
    byte += width;
  }
  indexes[byte] = sql.length;
  return (byteOffset) => indexes[byteOffset];
}

export interface ParsedStatement {
  /** The statement's parse tree: one key, the node type (e.g. AlterTableStmt). */
  node: Node;
  /** The statement's own text, leading comments and whitespace removed. */
  text: string;
  /** 1-based line of the statement's first character in the parsed SQL. */
  line: number;
}

export interface UnparsedStatement {
  text: string;
  line: number;
  error: string;
}

export interface ParsedSql {
  statements: ParsedStatement[];
  /** Pieces PostgreSQL's grammar rejects, each with the parser's message. */
  errors: UnparsedStatement[];
}

/** Drops leading whitespace and comments from a statement's text (all of it when the scanner rejects it). */
function stripLeadingComments(text: string): { text: string; skipped: string } {
  const tokens = scanTokens(text);
  const first = tokens?.find((token) => !token.kind.endsWith('comment'));
  const index = first?.start ?? (tokens === undefined ? text.length - text.trimStart().length : text.length);
  return { text: text.slice(index).trim(), skipped: text.slice(0, index) };
}

function lineAt(bytes: Buffer, byteOffset: number): number {
  let line = 1;
  for (let index = 0; index < byteOffset && index < bytes.length; index++) if (bytes[index] === 0x0a) line++;
  return line;
}

/** A statement's text and line from libpg_query's byte offsets (offsets count UTF-8 bytes, not characters). */
function piece(bytes: Buffer, start: number, length: number | undefined): { text: string; line: number } {
  const end = length === undefined || length === 0 ? bytes.length : start + length;
  const raw = bytes.subarray(start, end).toString('utf8');
  const { text, skipped } = stripLeadingComments(raw.replace(/;\s*$/, ''));
  return { text, line: lineAt(bytes, start + Buffer.byteLength(skipped)) };
}

function isBlank(text: string): boolean {
  return stripLeadingComments(text.replace(/;/g, ' ')).text === '';
}

/**
 * Parses a whole migration. When the grammar rejects it, the text is cut into the statements psql
 * would send (the one splitter, statements.ts) and each is parsed alone: one bad statement does
 * not hide what the others do.
 */
export function parseSql(sql: string): Promise<ParsedSql> {
  // A plan reads each file several times (classification, lint, pre-checks): parse it once.
  let parsed = parsedTexts.get(sql);
  if (parsed === undefined) {
    if (parsedTexts.size >= PARSED_KEPT) parsedTexts.delete(parsedTexts.keys().next().value!);
    parsed = parseUncached(sql);
    parsedTexts.set(sql, parsed);
  }
  return parsed;
}

const PARSED_KEPT = 5000;
const parsedTexts = new Map<string, Promise<ParsedSql>>();

async function parseUncached(sql: string): Promise<ParsedSql> {
  const parser = await loadSqlParser();
  if (isBlank(sql)) return { statements: [], errors: [] };
  const bytes = Buffer.from(sql, 'utf8');
  try {
    const result: ParseResult = await parser.parse(sql);
    return {
      statements: (result.stmts ?? []).map((raw) => ({
        node: raw.stmt!,
        ...piece(bytes, raw.stmt_location ?? 0, raw.stmt_len),
      })),
      errors: [],
    };
  } catch {
    return await parsePieces(parser, sql);
  }
}

async function parsePieces(parser: LibPgQuery, sql: string): Promise<ParsedSql> {
  // The statements psql would send (statements.ts): a `;` inside BEGIN ATOMIC ... END or parentheses
  // does not cut a piece in two. A script the scanner rejects comes back whole, with the parse error.
  const parsed: ParsedSql = { statements: [], errors: [] };
  for (const statement of await splitStatements(sql)) {
    const { text } = stripLeadingComments(statement.text.replace(/;\s*$/, ''));
    try {
      const result = await parser.parse(statement.text);
      for (const raw of result.stmts ?? []) parsed.statements.push({ node: raw.stmt!, text, line: statement.line });
    } catch (error) {
      parsed.errors.push({ text, line: statement.line, error: errorMessage(error) });
    }
  }
  return parsed;
}

/** The node type and body of a parse-tree node: `{ AlterTableStmt: {...} }` -> ['AlterTableStmt', {...}]. */
export function nodeType(node: Node | undefined): [string, Record<string, unknown>] {
  if (!node) return ['', {}];
  const [type, body] = Object.entries(node)[0] ?? ['', {}];
  return [type, (body ?? {}) as Record<string, unknown>];
}

export function relationName(relation: RangeVar | undefined): string {
  if (!relation?.relname) return '?';
  return relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname;
}

export function relationNames(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((node) => relationName(nodeType(node)[1] as RangeVar));
}

/** A node that is not a name shows as its node type, so a message still says what was there. */
export function stringItems(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((node) => {
    const [type, body] = nodeType(node);
    if (type === 'String') return String(body.sval ?? '');
    if (type === 'List') return stringItems(body.items as Node[]).join('.');
    if (type === 'TypeName') return stringItems(body.names as Node[]).join('.');
    if (type === 'ObjectWithArgs') return stringItems(body.objname as Node[]).join('.');
    return type;
  });
}

/** Tables are matched by name without schema: migrations rarely qualify consistently. */
export function tableKeyFromName(table: string): string {
  return table.split('.').at(-1)!.toLowerCase();
}
