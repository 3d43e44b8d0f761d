import type { Node } from 'libpg-query';
import { errorMessage } from '../errors.js';
import { loadSqlParser, nodeType, parseSql, stringItems, type ParsedSql } from './sql-parser.js';

/**
 * What a migration really executes, procedural code included: DO blocks, and functions or
 * procedures the migration creates and then calls, are read with the PL/pgSQL parser that ships
 * with libpg_query (`parsePlPgSQL`, the server's own plpgsql grammar), and the SQL statements
 * inside them are returned like top-level ones. Only what no parser can read (another procedural
 * language, a body PL/pgSQL rejects, EXECUTE of a string built at run time) stays unreadable.
 */

export interface ExecutedStatement {
  kind: 'statement';
  node: Node;
  /** The statement's own text. */
  text: string;
  /** 1-based line in the migration file. */
  line: number;
  /** Set when it runs inside procedural code: "in a DO block", "in function f(), called at line 9". */
  within?: string;
}

export interface UnreadableStatement {
  kind: 'unreadable';
  text: string;
  line: number;
  /** Why it cannot be read, as a clause: "PostgreSQL's grammar rejects it (syntax error at ...)". */
  reason: string;
  within?: string;
}

export type ExecutedEntry = ExecutedStatement | UnreadableStatement;

interface FunctionDefinition {
  name: string;
  language: string;
  /** The CREATE FUNCTION statement's text (what parsePlPgSQL reads) and its line. */
  text: string;
  line: number;
  /** LANGUAGE sql: the body, as a string or as BEGIN ATOMIC statements. */
  sqlBody?: string;
  atomic?: Node[];
}

/** A piece of SQL found in a PL/pgSQL body: a statement it runs, an expression it evaluates, or an EXECUTE. */
interface ProceduralPiece {
  sql: string;
  /** 1-based line within the body (PL/pgSQL counts from the line its opening quote is on). */
  lineno: number;
  role: 'statement' | 'expression' | 'dynamic';
}

/** DefElem options of a DO statement or CREATE FUNCTION: { language: 'plpgsql', as: '...' }. */
function options(list: Node[] | undefined): Record<string, Node | undefined> {
  const found: Record<string, Node | undefined> = {};
  for (const item of list ?? []) {
    const [type, body] = nodeType(item);
    if (type === 'DefElem') found[String(body.defname)] = body.arg as Node | undefined;
  }
  return found;
}

function stringOf(node: Node | undefined): string | undefined {
  const [type, body] = nodeType(node);
  if (type === 'String') return String(body.sval ?? '');
  if (type === 'List') return stringOf((body.items as Node[] | undefined)?.[0]);
  return undefined;
}

/** Function names are matched by their last part, lower-cased: migrations rarely qualify calls. */
function functionKey(name: string): string {
  return name.split('.').at(-1)!.toLowerCase();
}

const DYNAMIC_STATEMENTS = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);

/** Statements that name functions without running them: a definition calls nothing yet. */
const DEFINES_ONLY = new Set(['CreateFunctionStmt', 'ViewStmt', 'CreateTrigStmt', 'RuleStmt', 'CreatePolicyStmt']);

/** Every piece of SQL in a PL/pgSQL function tree, in the order the body lists it. */
function proceduralPieces(value: unknown, lineno: number, out: ProceduralPiece[]): void {
  if (Array.isArray(value)) {
    for (const item of value) proceduralPieces(item, lineno, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const body = (inner ?? {}) as Record<string, unknown>;
    const line = typeof body.lineno === 'number' ? body.lineno : lineno;
    if (key === 'PLpgSQL_stmt_execsql') {
      out.push({ sql: exprText(body.sqlstmt), lineno: line, role: 'statement' });
    } else if (DYNAMIC_STATEMENTS.has(key)) {
      out.push({ sql: exprText(body.query), lineno: line, role: 'dynamic' });
      proceduralPieces(body.body, line, out);
    } else if (key === 'PLpgSQL_expr') {
      // parseMode 0 is a whole query (PERFORM, FOR ... IN SELECT, RETURN QUERY); 2 an expression;
      // 3-5 an assignment "target := expression"; 1 a type name.
      const mode = Number(body.parseMode ?? 0);
      const query = String(body.query ?? '');
      if (mode === 0) out.push({ sql: query, lineno, role: 'statement' });
      else if (mode === 2) out.push({ sql: `SELECT ${query}`, lineno, role: 'expression' });
      else if (mode >= 3)
        out.push({
          sql: `SELECT ${query.slice(query.indexOf(':=') >= 0 ? query.indexOf(':=') + 2 : query.indexOf('=') + 1)}`,
          lineno,
          role: 'expression',
        });
    } else {
      proceduralPieces(inner, line, out);
    }
  }
}

function exprText(node: unknown): string {
  return String((node as { PLpgSQL_expr?: { query?: string } } | undefined)?.PLpgSQL_expr?.query ?? '');
}

/** The line of the file a procedural body starts on: the statement's line plus the lines before its opening quote. */
function bodyStartLine(statementText: string, statementLine: number, body: string): number {
  const at = body ? statementText.indexOf(body) : -1;
  return statementLine + (at < 0 ? 0 : statementText.slice(0, at).split('\n').length - 1);
}

/** FuncCall and CallStmt names anywhere in a parse tree. */
function calledFunctions(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) calledFunctions(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      // A FuncCall node, or CallStmt's funccall (the same shape, not wrapped).
      if (key === 'FuncCall' || key === 'funccall')
        out.push(stringItems((inner as { funcname?: Node[] }).funcname).join('.'));
      calledFunctions(inner, out);
    }
  }
  return out;
}

class Expander {
  readonly entries: ExecutedEntry[] = [];
  private readonly functions = new Map<string, FunctionDefinition>();
  /** Functions being expanded: a function calling itself is read once. */
  private readonly expanding = new Set<string>();

  async statement(
    node: Node,
    text: string,
    line: number,
    within: string | undefined,
    role: ProceduralPiece['role'] = 'statement',
  ): Promise<void> {
    const [type, body] = nodeType(node);
    if (type === 'DoStmt') {
      await this.doBlock(body, text, line, within);
      return;
    }
    if (type === 'CreateFunctionStmt') this.define(body, text, line);
    const calls = (DEFINES_ONLY.has(type) ? [] : calledFunctions(node))
      .map((name) => this.functions.get(functionKey(name)))
      .filter(
        (definition): definition is FunctionDefinition =>
          definition !== undefined && !this.expanding.has(functionKey(definition.name)),
      );
    if (type === 'CallStmt' && calls.length > 0) {
      // CALL of a procedure this migration creates: what runs is its body.
      for (const definition of calls) await this.call(definition, line);
      return;
    }
    if (role === 'statement') this.entries.push({ kind: 'statement', node, text, line, within });
    for (const definition of calls) await this.call(definition, line);
  }

  private define(body: Record<string, unknown>, text: string, line: number): void {
    const name = stringItems(body.funcname as Node[]).join('.');
    const found = options(body.options as Node[]);
    const language = (stringOf(found.language) ?? 'sql').toLowerCase();
    this.functions.set(functionKey(name), {
      name,
      language,
      text,
      line,
      sqlBody: stringOf(found.as),
      atomic: body.sql_body
        ? ((nodeType(body.sql_body as Node)[1].items as Node[] | undefined) ?? [body.sql_body as Node])
        : undefined,
    });
  }

  private async call(definition: FunctionDefinition, callLine: number): Promise<void> {
    const key = functionKey(definition.name);
    this.expanding.add(key);
    try {
      const within = `in ${definition.name}(), which this migration creates and calls at line ${callLine}`;
      if (definition.language === 'plpgsql') {
        await this.plpgsql(definition.text, definition.line, definition.sqlBody ?? '', within);
      } else if (definition.language === 'sql' && definition.atomic) {
        for (const node of definition.atomic) {
          const [type, inner] = nodeType(node);
          // BEGIN ATOMIC bodies hold the statements themselves (a List of them, or one).
          if (type === 'List')
            for (const item of (inner.items as Node[] | undefined) ?? [])
              await this.statement(item, definition.text, definition.line, within);
          else await this.statement(node, definition.text, definition.line, within);
        }
      } else if (definition.language === 'sql') {
        await this.sql(
          definition.sqlBody ?? '',
          bodyStartLine(definition.text, definition.line, definition.sqlBody ?? ''),
          within,
        );
      } else {
        this.entries.push({
          kind: 'unreadable',
          text: definition.text,
          line: definition.line,
          within,
          reason: `${definition.name}() is written in ${definition.language}, which no parser here reads`,
        });
      }
    } finally {
      this.expanding.delete(key);
    }
  }

  private async doBlock(
    body: Record<string, unknown>,
    text: string,
    line: number,
    within: string | undefined,
  ): Promise<void> {
    const found = options(body.args as Node[]);
    const language = (stringOf(found.language) ?? 'plpgsql').toLowerCase();
    const source = stringOf(found.as) ?? '';
    if (language !== 'plpgsql') {
      this.entries.push({
        kind: 'unreadable',
        text,
        line,
        within,
        reason: `a DO block in ${language}, which no parser here reads`,
      });
      return;
    }
    await this.plpgsql(text, line, source, within ? `${within}, in a DO block` : 'in a DO block');
  }

  /** Reads a DO block or a plpgsql CREATE FUNCTION with the PL/pgSQL parser, then each piece of SQL in it. */
  private async plpgsql(text: string, line: number, source: string, within: string): Promise<void> {
    const parser = await loadSqlParser();
    let tree: unknown;
    try {
      tree = await parser.parsePlPgSQL(text);
    } catch (error) {
      this.entries.push({
        kind: 'unreadable',
        text,
        line,
        within,
        reason: `PL/pgSQL's parser rejects it (${errorMessage(error)})`,
      });
      return;
    }
    const pieces: ProceduralPiece[] = [];
    proceduralPieces((tree as { plpgsql_funcs?: unknown[] }).plpgsql_funcs?.[0], 1, pieces);
    const start = bodyStartLine(text, line, source);
    for (const piece of pieces) {
      const pieceLine = start + piece.lineno - 1;
      if (piece.role === 'dynamic') await this.dynamic(piece.sql, pieceLine, within);
      else await this.sql(piece.sql, pieceLine, within, piece.role);
    }
  }

  /** EXECUTE of a string literal runs that string; anything else is built at run time and cannot be read. */
  private async dynamic(expression: string, line: number, within: string): Promise<void> {
    const parsed = await parseSql(`SELECT ${expression}`);
    const [, select] = nodeType(parsed.statements[0]?.node);
    const targets = (select.targetList as Node[] | undefined) ?? [];
    const [valueType, value] = nodeType(targets.length === 1 ? (nodeType(targets[0])[1].val as Node) : undefined);
    const literal = valueType === 'A_Const' ? (value.sval as { sval?: string } | undefined)?.sval : undefined;
    if (literal === undefined || parsed.errors.length > 0) {
      this.entries.push({
        kind: 'unreadable',
        text: `EXECUTE ${expression}`,
        line,
        within,
        reason: 'EXECUTE runs SQL built at run time, which no parser can read beforehand',
      });
      return;
    }
    await this.sql(literal, line, within);
  }

  private async sql(
    text: string,
    line: number,
    within: string | undefined,
    role: ProceduralPiece['role'] = 'statement',
  ): Promise<void> {
    const parsed = await parseSql(text);
    for (const error of parsed.errors) {
      this.entries.push({
        kind: 'unreadable',
        text: error.text,
        line: line + error.line - 1,
        within,
        reason: `PostgreSQL's grammar rejects it (${error.error})`,
      });
    }
    for (const statement of parsed.statements)
      await this.statement(statement.node, statement.text, line + statement.line - 1, within, role);
  }

  async topLevel(parsed: ParsedSql): Promise<void> {
    const ordered = [
      ...parsed.statements.map((statement) => ({
        line: statement.line,
        statement,
        error: undefined as (typeof parsed.errors)[number] | undefined,
      })),
      ...parsed.errors.map((error) => ({ line: error.line, statement: undefined, error })),
    ].sort((a, b) => a.line - b.line);
    for (const { statement, error } of ordered) {
      if (statement) await this.statement(statement.node, statement.text, statement.line, undefined);
      else if (error)
        this.entries.push({
          kind: 'unreadable',
          text: error.text,
          line: error.line,
          reason: `PostgreSQL's grammar rejects it (${error.error})`,
        });
    }
  }
}

/**
 * The statements a migration executes, in order, with those inside DO blocks and inside the
 * functions and procedures it creates and calls read out of their bodies.
 */
export async function executedStatements(sql: string | ParsedSql): Promise<ExecutedEntry[]> {
  const parsed = typeof sql === 'string' ? await parseSql(sql) : sql;
  // parseSql returns one object per text, so this reads each migration's procedural code once.
  let entries = expanded.get(parsed);
  if (entries === undefined) {
    entries = expand(parsed);
    expanded.set(parsed, entries);
  }
  return await entries;
}

const expanded = new WeakMap<ParsedSql, Promise<ExecutedEntry[]>>();

async function expand(parsed: ParsedSql): Promise<ExecutedEntry[]> {
  const expander = new Expander();
  await expander.topLevel(parsed);
  return expander.entries;
}
