import { ActionError } from '../errors.js';
import type { PgClientTool } from '../postgres/pg-tools.js';
import { ProcessError, lastLines, runProcess } from '../process.js';

/**
 * verify "full": every byte of a custom or directory archive read back through pg_restore, written
 * to /dev/null. pg_restore --list reads only the table of contents; this decompresses every data
 * block as a restore would, so a damaged block behind an intact table of contents fails the backup
 * now instead of the restore later. (verify "restore" goes further: it loads the data too.)
 */
export async function readArchiveToEnd(pgRestore: PgClientTool, archive: string): Promise<string> {
  try {
    await runProcess(pgRestore.path, ['--file=/dev/null', archive], { timeoutMs: 6 * 3600_000 });
  } catch (error) {
    const detail =
      error instanceof ProcessError
        ? lastLines(error.result.stderr || error.result.stdout, 5)
        : (error as Error).message;
    throw new ActionError(
      `The archive ${archive} is damaged: its table of contents is intact, but pg_restore cannot read its data back:\n${detail}`,
    );
  }
  return 'every data block read back through pg_restore (to /dev/null)';
}
