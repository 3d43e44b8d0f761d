/**
 * A run of the rollback workflows from a terminal (the rollback-actions command, its --backup-dir)
 * has no artifact service: backup-db keeps its backups in this directory of the operator's
 * machine, where every job of the run, and apply-down-migrations' backup check, find them.
 */
export const LOCAL_BACKUP_DIR_ENV = 'ROLLBACK_BACKUP_DIR';

export function localBackupDir(): string | undefined {
  return process.env[LOCAL_BACKUP_DIR_ENV] || undefined;
}
