/**
 * What a job summary must never do, checked on every summary an action writes in the test suite
 * (the harness runs this after each action): a tired reader sees the verdict first and nothing
 * that wastes a glance or misleads.
 */
/** Rows a table may show unfolded under a verdict. */
const LONGEST_OPEN_TABLE = 12;

export function summaryProblems(markdown: string): string[] {
  if (markdown.trim() === '') return [];
  const problems: string[] = [];
  // Fenced blocks and code spans hold text as typed: not checked, and not rendered as Markdown either.
  const prose = markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1\s*$/gm, '').replace(/(`+)[\s\S]*?\1/g, '`…`');
  const lines = prose.split('\n');

  const first = lines.find((line) => line.trim() !== '');
  if (!first || !/^#{1,4} \S/.test(first))
    problems.push(`does not open with a heading that gives the verdict: ${JSON.stringify(first)}`);

  let folded = 0;
  for (let index = 0; index + 1 < lines.length; index++) {
    folded += (lines[index].match(/<details>/g) ?? []).length - (lines[index].match(/<\/details>/g) ?? []).length;
    if (!/^\|.*\|\s*$/.test(lines[index]) || !/^\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(lines[index + 1])) continue;
    if (index > 0 && /^\|/.test(lines[index - 1])) continue;
    const cells = (line: string) =>
      line
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((text) => text.trim());
    const header = cells(lines[index]);
    if (header.some((text) => text === '')) problems.push(`table with an empty header cell: ${lines[index]}`);
    const body: string[][] = [];
    for (let row = index + 2; row < lines.length && /^\|/.test(lines[row]); row++) body.push(cells(lines[row]));
    // A job shows its steps' summaries one under another: a long open table pushes the next verdict out of view.
    if (folded <= 0 && body.length > LONGEST_OPEN_TABLE)
      problems.push(`table of ${body.length} rows outside <details> (at most ${LONGEST_OPEN_TABLE}): ${lines[index]}`);
    header.forEach((name, column) => {
      if (body.length > 0 && body.every((row) => (row[column] ?? '') === ''))
        problems.push(`table column "${name}" is empty in every row`);
    });
  }
  // GitHub renders user@host as a mailto: link; identifiers belong in code spans.
  for (const match of prose.matchAll(/(?<![\w`])[\w.+-]+@[\w-]+(\.[\w-]+)+(?![\w`])/g))
    problems.push(`"${match[0]}" outside a code span renders as a mail link`);
  // In tables, sizes are read at a glance; an error message may need the exact figures it compares.
  for (const line of lines.filter((text) => text.startsWith('|'))) {
    for (const match of line.matchAll(/\b\d{5,} bytes\b/g))
      problems.push(`raw size "${match[0]}" in a table: give a human size`);
  }
  if (/^#{1,6}\s*$/m.test(prose)) problems.push('empty heading');
  return problems;
}
