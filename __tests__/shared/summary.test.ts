import { code, codeSpanAddresses, keyValueTable, markdownTable } from '../../shared/summary.js';
import { summaryProblems } from '../../testkit/summary-check.js';

describe('summary builders', () => {
  it('leave out columns empty in every row, and tables without rows', () => {
    expect(
      markdownTable(
        ['Check', 'Expected', 'Actual'],
        [
          ['health', '', ''],
          ['version', '', undefined],
        ],
      ),
    ).toBe('| Check |\n| --- |\n| health |\n| version |\n');
    expect(
      markdownTable(
        ['Check', 'Expected'],
        [
          ['health', ''],
          ['version', 'v1'],
        ],
      ),
    ).toContain('| Check | Expected |');
    expect(markdownTable(['Check'], [])).toBe('');
  });

  it('give key/value tables a header that is not empty', () => {
    expect(
      keyValueTable([
        ['Size', '1.2 MB'],
        ['Left out', undefined],
      ]),
    ).toBe('| Detail | Value |\n| --- | --- |\n| Size | 1.2 MB |\n');
    expect(summaryProblems(`## ok\n\n${keyValueTable([['Size', '1 MB']])}`)).toEqual([]);
  });

  it('put identifiers in code spans, also ones holding backticks, and addresses in messages', () => {
    expect(code('postgres@127.0.0.1')).toBe('`postgres@127.0.0.1`');
    expect(code('a`b')).toBe('``a`b``');
    expect(codeSpanAddresses('connecting to postgres@127.0.0.1:5432/app failed; `deploy@host` kept')).toBe(
      'connecting to `postgres@127.0.0.1:5432/app` failed; `deploy@host` kept',
    );
  });
});

describe('the summary check every action summary in the suite goes through', () => {
  it('lets a long table be folded, and a short one stay open', () => {
    const rows = '| a | 1 |\n'.repeat(13);
    expect(
      summaryProblems(
        `## x\n\n<details><summary>All</summary>\n\n| Detail | Value |\n| --- | --- |\n${rows}</details>\n`,
      ),
    ).toEqual([]);
    expect(summaryProblems(`## x\n\n| Detail | Value |\n| --- | --- |\n${'| a | 1 |\n'.repeat(12)}`)).toEqual([]);
  });

  it('passes a summary with the verdict first, folded details and identifiers in code', () => {
    expect(
      summaryProblems(
        '## ✅ Backup of `app` verified\n\n<details><summary>Details</summary>\n\n| Detail | Value |\n| --- | --- |\n| Database | `postgres@127.0.0.1` |\n</details>\n',
      ),
    ).toEqual([]);
  });

  it.each([
    ['no verdict heading first', '| a | b |\n| --- | --- |\n| 1 | 2 |\n', /does not open with a heading/],
    ['an empty header row', '## x\n\n|  |  |\n| --- | --- |\n| Size | 1 MB |\n', /empty header cell/],
    [
      'an empty column',
      '## x\n\n| Check | Expected |\n| --- | --- |\n| a |  |\n| b |  |\n',
      /column "Expected" is empty in every row/,
    ],
    ['a bare user@host', '## x\n\nDatabase postgres@127.0.0.1 restored\n', /renders as a mail link/],
    [
      'raw bytes in a table',
      '## x\n\n| Detail | Value |\n| --- | --- |\n| Size | 1234567 bytes |\n',
      /give a human size/,
    ],
    [
      'a long table left open',
      `## x\n\n| Detail | Value |\n| --- | --- |\n${'| a | 1 |\n'.repeat(13)}`,
      /table of 13 rows outside <details>/,
    ],
  ])('flags %s', (_name, markdown, problem) => {
    expect(summaryProblems(markdown).join('\n')).toMatch(problem);
  });
});
