import { runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, dropDatabase, type TestDatabase } from '../../testkit/database.js';

/**
 * Exact row counts beside the dump cost a second full scan of each table; above row-count-max-size
 * a table gets PostgreSQL's estimate instead, recorded as such and never compared at restore.
 */
describe('backup-db row-count-max-size', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('row_counts');
    await db.query(`CREATE TABLE big (id int PRIMARY KEY, filler text NOT NULL); INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
      CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small SELECT generate_series(1, 10); ANALYZE big; ANALYZE small;`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('counts small tables exactly, estimates the one above the limit, and restore-db compares only the exact ones', async () => {
    const backup = await runAction('backup-db', {
      inputs: { 'database-url': db.url, upload: false, 'row-count-max-size': '1MiB' },
    });
    expect(backup.errors).toEqual([]);
    const metadata = JSON.parse(backup.outputs.metadata);
    expect(metadata.rowCounts).toEqual({ 'public.small': 10 });
    expect(metadata.estimatedRowCounts).toEqual({ 'public.big': 20000 });
    expect(metadata.rowCountsCover).toBe('size-limited');
    expect(backup.summary).toContain('| public.big | ~20000 (estimate) |');

    const restore = await runAction('restore-db', { inputs: { 'database-url': db.url, path: backup.outputs.path } });
    expect(restore.errors).toEqual([]);
    expect(JSON.parse(restore.outputs['row-counts'])).toEqual({ 'public.big': 20000, 'public.small': 10 });
    await dropDatabase(restore.outputs.database);
  });

  it('counts every table exactly with "none", the default counting tables up to 256 MiB', async () => {
    const [all, byDefault] = await Promise.all([
      runAction('backup-db', { inputs: { 'database-url': db.url, upload: false, 'row-count-max-size': 'none' } }),
      runAction('backup-db', { inputs: { 'database-url': db.url, upload: false } }),
    ]);
    for (const result of [all, byDefault]) {
      expect(result.errors).toEqual([]);
      const metadata = JSON.parse(result.outputs.metadata);
      expect(metadata.rowCounts).toEqual({ 'public.big': 20000, 'public.small': 10 });
      expect(metadata.estimatedRowCounts).toBeUndefined();
      expect(metadata.rowCountsCover).toBe('all-tables');
    }
  });
});
