import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';

/**
 * The SQL parser's WebAssembly travels next to the bundle. ncc copies it only when it can follow the
 * reference in shared/migrations/sql-parser.ts; otherwise webpack emits it as text under a hashed
 * name and corrupts it. The end-to-end tests parse SQL through the bundle; this says why when they fail.
 */
describe('the compute-rollback-target bundle', () => {
  const dist = path.join(REPO_ROOT, 'dist', 'compute-rollback-target');
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  it('carries libpg-query.wasm byte for byte, and no other WebAssembly file', () => {
    expect(readdirSync(dist).filter((file) => file.endsWith('.wasm'))).toEqual(['libpg-query.wasm']);
    expect(sha256(path.join(dist, 'libpg-query.wasm'))).toBe(
      sha256(path.join(REPO_ROOT, 'node_modules', 'libpg-query', 'wasm', 'libpg-query.wasm')),
    );
  });
});

/**
 * backup-db and restore-db read a database's history (detect-history.ts) but never parse SQL: they
 * must not reach the tool registry, whose sql-files module brings the parser and its WebAssembly in.
 */
describe.each(['backup-db', 'restore-db'])('the %s bundle', (action) => {
  it('carries no SQL parser: no libpg-query.wasm, and no chunk that loads it', () => {
    const dist = path.join(REPO_ROOT, 'dist', action);
    const files = readdirSync(dist);
    expect(files).toContain('index.js');
    expect(files.filter((file) => file.endsWith('.wasm'))).toEqual([]);
    for (const file of files.filter((name) => name.endsWith('.js')))
      expect(readFileSync(path.join(dist, file), 'utf8')).not.toContain('libpg-query');
  });
});
