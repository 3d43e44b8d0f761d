import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ActionError } from '../../errors.js';
import { runProcess } from '../../process.js';
import type { FileSource } from '../types.js';

/**
 * Alembic's revision graph, read from the revision files with Python's own parser (the ast module),
 * never executed: a revision file imports the team's models, which need not import on the runner.
 * Alembic itself reads the same module-level names (alembic/script/revision.py, Script._from_path).
 */

/** One op.* call in upgrade() or downgrade(), with its keyword and positional literals where they are literals. */
export interface AlembicOp {
  /** "add_column", "drop_column", "alter_column", "execute", "create_table", ... */
  name: string;
  /** Positional arguments that are string literals; null where not a literal. */
  args: (string | null)[];
  /** Keyword arguments that are literals (True/False/None, strings, numbers); nested sa.Column(...) kwargs are flattened in `column`. */
  kwargs: Record<string, string | number | boolean | null>;
  /** For add_column(table, sa.Column(name, type, nullable=...)): the column's name, type and literal kwargs. */
  column?: { name: string | null; type: string | null; kwargs: Record<string, string | number | boolean | null> };
  line: number;
}

export interface AlembicRevision {
  revision: string;
  /** The revisions this one follows: none for a base, two or more for a merge. */
  downRevisions: string[];
  branchLabels: string[];
  dependsOn: string[];
  /** The message Alembic writes into the docstring's first line ("Revision ID" header aside). */
  message: string;
  file: string;
  /** SHA-256 of the revision file: what the plan digest holds for it (its downgrade() is what runs). */
  sha256: string;
  upgradeOps: AlembicOp[];
  downgradeOps: AlembicOp[];
  /**
   * What downgrade() is: "ops" (it has op.* calls), "empty" (pass, or no op.* call: a merge point, a
   * data fix with nothing to undo), "raises" (its body only raises: the team said it cannot be undone)
   * or "missing" (no downgrade function).
   */
  downgrade: 'ops' | 'empty' | 'raises' | 'missing';
}

// Reads {path: source} as JSON on stdin, writes [{revision, ...}] as JSON on stdout. Files without a
// module-level `revision` are not revisions (Alembic skips them too: "Could not determine revision id").
const PARSER = String.raw`
import ast, json, sys

def literal(node):
    try:
        value = ast.literal_eval(node)
    except Exception:
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return None

def names(node):
    try:
        value = ast.literal_eval(node)
    except Exception:
        raise SystemExit("not a literal: line %d" % node.lineno)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]

def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return base + "." + node.attr if base else node.attr
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return None

def op_calls(function):
    ops = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func) or ""
        if not name.startswith("op.") or name.count(".") != 1:
            continue
        entry = {"name": name[3:], "args": [], "kwargs": {}, "line": node.lineno}
        for arg in node.args:
            if isinstance(arg, ast.Call) and (dotted(arg.func) or "").split(".")[-1] == "Column":
                column_args = [literal(a) if isinstance(a, ast.Constant) else None for a in arg.args]
                column_type = next((dotted(a) for a in arg.args if not isinstance(a, ast.Constant)), None)
                entry["column"] = {
                    "name": column_args[0] if column_args else None,
                    "type": column_type,
                    "kwargs": {k.arg: literal(k.value) for k in arg.keywords if k.arg},
                }
                entry["args"].append(None)
            else:
                value = literal(arg)
                if value is None and isinstance(arg, ast.Call) and (dotted(arg.func) or "").split(".")[-1] == "text" and arg.args:
                    value = literal(arg.args[0])
                entry["args"].append(value if isinstance(value, str) else None)
        for keyword in node.keywords:
            if keyword.arg:
                entry["kwargs"][keyword.arg] = literal(keyword.value)
        ops.append(entry)
    ops.sort(key=lambda op: op["line"])
    return ops

def downgrade_kind(function):
    if function is None:
        return "missing"
    body = [n for n in function.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    if body and all(isinstance(n, ast.Raise) for n in body):
        return "raises"
    return "ops" if op_calls(function) else "empty"

files = json.load(sys.stdin)
revisions = []
for path, source in sorted(files.items()):
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        raise SystemExit("%s: %s" % (path, error))
    found = {}
    functions = {}
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets = [node.target.id]
            value = node.value
        elif isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        for target in targets:
            if target in ("revision", "down_revision", "branch_labels", "depends_on"):
                try:
                    found[target] = names(value)
                except SystemExit as error:
                    raise SystemExit("%s: %s is %s" % (path, target, error))
    if "revision" not in found or len(found["revision"]) != 1:
        continue
    doc = ast.get_docstring(tree) or ""
    revisions.append({
        "revision": found["revision"][0],
        "downRevisions": found.get("down_revision", []),
        "branchLabels": found.get("branch_labels", []),
        "dependsOn": found.get("depends_on", []),
        "message": doc.splitlines()[0] if doc else "",
        "file": path,
        "upgradeOps": op_calls(functions["upgrade"]) if "upgrade" in functions else [],
        "downgradeOps": op_calls(functions["downgrade"]) if "downgrade" in functions else [],
        "downgrade": downgrade_kind(functions.get("downgrade")),
    })
json.dump(revisions, sys.stdout)
`;

/** The revision files below an Alembic versions directory (Alembic reads *.py, recursing when recursive_version_locations is set). */
export function isRevisionFile(file: string): boolean {
  return (
    file.endsWith('.py') &&
    !file.split('/').some((part) => part === '__pycache__' || part.startsWith('.')) &&
    !file.endsWith('__init__.py')
  );
}

let resolvedPython: string | undefined;

/**
 * The interpreter that reads the graph, resolved once: the one the `alembic` on PATH runs with (its
 * #! line), else /usr/bin/python3, else `python3` from PATH. A version-manager shim (pyenv's
 * python3) costs ~250 ms per start, more than the whole graph read.
 */
export function graphPython(): string {
  if (resolvedPython) return resolvedPython;
  const candidates: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const alembic = path.join(dir, 'alembic');
    if (!existsSync(alembic)) continue;
    const shebang = /^#!\s*(\/\S*python[0-9.]*)\s*$/.exec(readFileSync(alembic, 'utf8').split('\n', 1)[0]);
    if (shebang) candidates.push(shebang[1]);
    break;
  }
  candidates.push('/usr/bin/python3');
  resolvedPython = candidates.find((candidate) => existsSync(candidate)) ?? 'python3';
  return resolvedPython;
}

/** Every revision file in one python process (one interpreter start for the whole graph). */
export async function readAlembicRevisions(
  source: FileSource,
  files: readonly string[],
  python = graphPython(),
): Promise<AlembicRevision[]> {
  return (await readAlembicGraphs([{ source, files }], python))[0];
}

/**
 * Several revision graphs (the versions directory at two git refs and in the checkout, say) read by
 * one python process: one interpreter start whatever the number of graphs.
 */
export async function readAlembicGraphs(
  graphs: readonly { source: FileSource; files: readonly string[] }[],
  python = graphPython(),
): Promise<AlembicRevision[][]> {
  // Each file is keyed "<graph index>/<path>"; the parser sorts and reads them all in one go.
  const sources: Record<string, string> = {};
  const key = (index: number, file: string) => `${index}/${file}`;
  for (const [index, graph] of graphs.entries())
    for (const file of graph.files.filter(isRevisionFile))
      sources[key(index, file)] = await graph.source.readFile(file);
  // -S: no site import (the parser needs ast and json only), a tenth of the interpreter's start.
  const result = await runProcess(python, ['-S', '-c', PARSER], {
    input: JSON.stringify(sources),
    okExitCodes: [0, 1],
  });
  if (result.exitCode !== 0) {
    const where = graphs.map((graph) => graph.source.description).join(' and ');
    throw new ActionError(`Could not read the Alembic revisions in ${where}: ${result.stderr.trim()}`);
  }
  const parsed = JSON.parse(result.stdout) as Omit<AlembicRevision, 'sha256'>[];
  return graphs.map((graph, index) => {
    const prefix = `${index}/`;
    const revisions = parsed
      .filter((revision) => revision.file.startsWith(prefix))
      .map((revision) => ({
        ...revision,
        file: revision.file.slice(prefix.length),
        sha256: createHash('sha256').update(sources[revision.file], 'utf8').digest('hex'),
      }));
    checkGraph(revisions, graph.source.description);
    return revisions;
  });
}

function checkGraph(revisions: readonly AlembicRevision[], description: string): void {
  const seen = new Map<string, string>();
  for (const revision of revisions) {
    const other = seen.get(revision.revision);
    if (other)
      throw new ActionError(
        `Two Alembic revisions have id ${revision.revision} in ${description}: ${other} and ${revision.file}.`,
      );
    seen.set(revision.revision, revision.file);
  }
  for (const revision of revisions) {
    const missing = [...revision.downRevisions, ...revision.dependsOn].filter(
      (id) => !seen.has(id) && !revisions.some((r) => r.branchLabels.includes(id)),
    );
    if (missing.length)
      throw new ActionError(
        `Alembic revision ${revision.revision} (${revision.file}) follows ${missing.join(', ')}, which ${description} does not have.`,
      );
  }
}

/** Revisions nothing follows: Alembic's heads. */
export function heads(revisions: readonly AlembicRevision[]): string[] {
  const followed = new Set(revisions.flatMap((revision) => revision.downRevisions));
  return revisions
    .filter((revision) => !followed.has(revision.revision))
    .map((revision) => revision.revision)
    .sort();
}

/** `revision` and everything it follows (down_revision and depends_on), transitively. */
export function ancestry(revisions: readonly AlembicRevision[], start: readonly string[]): Set<string> {
  const byId = new Map(revisions.map((revision) => [revision.revision, revision]));
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id) || !byId.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.downRevisions, ...byId.get(id)!.dependsOn);
  }
  return seen;
}

/**
 * What `alembic downgrade <t>` for each target head t removes from the applied revisions (those at or
 * below `current`, the alembic_version rows): the revisions that follow some t (Alembic keeps a sibling
 * branch that does not lead to t). Newest first, each after everything that follows it, and the heads
 * alembic_version holds afterwards.
 */
export function revisionsToRevert(
  revisions: readonly AlembicRevision[],
  current: readonly string[],
  target: readonly string[],
): string[] {
  return downgradePlan(revisions, current, target).revert;
}

export function downgradePlan(
  revisions: readonly AlembicRevision[],
  current: readonly string[],
  target: readonly string[],
): { revert: string[]; after: string[] } {
  const applied = ancestry(revisions, current);
  const revert = [...applied]
    .filter((id) => target.length === 0 || target.some((head) => head !== id && ancestry(revisions, [id]).has(head)))
    .sort();
  const left = new Set([...applied].filter((id) => !revert.includes(id)));
  const followedInLeft = new Set(
    revisions
      .filter((revision) => left.has(revision.revision))
      .flatMap((revision) => [...revision.downRevisions, ...revision.dependsOn]),
  );
  const after = [...left].filter((id) => !followedInLeft.has(id)).sort();
  const order: string[] = [];
  const placed = new Set<string>();
  const followers = (id: string) =>
    revisions
      .filter((revision) => revision.downRevisions.includes(id) || revision.dependsOn.includes(id))
      .map((revision) => revision.revision);
  const visit = (id: string) => {
    if (placed.has(id)) return;
    placed.add(id);
    for (const follower of followers(id)) if (revert.includes(follower)) visit(follower);
    order.push(id);
  };
  for (const id of revert) visit(id);
  return { revert: order, after };
}
