import type { SqlStatement } from './statements.js';

/**
 * Which statements PostgreSQL refuses inside a transaction block ("... cannot run inside a
 * transaction block", PreventInTransactionBlock in the server), and which are the file's own
 * transaction control. A migration holding either cannot simply be wrapped in our BEGIN/COMMIT.
 */

export interface NonTransactionalStatement {
  statement: SqlStatement;
  /** What was recognised, e.g. "DROP INDEX CONCURRENTLY". */
  what: string;
}

interface Rule {
  what: string;
  test: (words: string) => boolean;
  /** Only before this server_version_num (ALTER TYPE ... ADD VALUE is allowed in a transaction from 12 on). */
  beforeServer?: number;
}

const RULES: Rule[] = [
  { what: 'CREATE INDEX CONCURRENTLY', test: (w) => /^CREATE (UNIQUE )?INDEX CONCURRENTLY\b/.test(w) },
  { what: 'DROP INDEX CONCURRENTLY', test: (w) => /^DROP INDEX CONCURRENTLY\b/.test(w) },
  { what: 'REINDEX CONCURRENTLY', test: (w) => /^REINDEX\b.*\bCONCURRENTLY\b/.test(w) },
  { what: 'REINDEX DATABASE/SYSTEM', test: (w) => /^REINDEX( VERBOSE)? (DATABASE|SYSTEM)\b/.test(w) },
  {
    what: 'DETACH PARTITION CONCURRENTLY',
    test: (w) => /^ALTER TABLE\b.*\bDETACH PARTITION\b.*\bCONCURRENTLY\b/.test(w),
  },
  { what: 'VACUUM', test: (w) => /^VACUUM\b/.test(w) },
  { what: 'CREATE DATABASE', test: (w) => /^CREATE DATABASE\b/.test(w) },
  { what: 'DROP DATABASE', test: (w) => /^DROP DATABASE\b/.test(w) },
  { what: 'ALTER DATABASE ... SET TABLESPACE', test: (w) => /^ALTER DATABASE \S+ SET TABLESPACE\b/.test(w) },
  { what: 'CREATE TABLESPACE', test: (w) => /^CREATE TABLESPACE\b/.test(w) },
  { what: 'DROP TABLESPACE', test: (w) => /^DROP TABLESPACE\b/.test(w) },
  { what: 'ALTER SYSTEM', test: (w) => /^ALTER SYSTEM\b/.test(w) },
  { what: 'CREATE SUBSCRIPTION', test: (w) => /^CREATE SUBSCRIPTION\b/.test(w) },
  { what: 'DROP SUBSCRIPTION', test: (w) => /^DROP SUBSCRIPTION\b/.test(w) },
  { what: 'ALTER TYPE ... ADD VALUE', test: (w) => /^ALTER TYPE\b.*\bADD VALUE\b/.test(w), beforeServer: 120000 },
];

/** Statements that cannot run inside a transaction block on this server (all servers when unknown). */
export function findNonTransactionalStatements(
  statements: readonly SqlStatement[],
  serverVersionNum?: number,
): NonTransactionalStatement[] {
  const found: NonTransactionalStatement[] = [];
  for (const statement of statements) {
    const words = statement.words.join(' ');
    const rule = RULES.find(
      (candidate) =>
        candidate.test(words) &&
        (candidate.beforeServer === undefined ||
          serverVersionNum === undefined ||
          serverVersionNum < candidate.beforeServer),
    );
    if (rule) found.push({ statement, what: rule.what });
  }
  return found;
}

const TRANSACTION_START = /^(BEGIN|START TRANSACTION)\b/;
const TRANSACTION_END = /^(COMMIT|END)\b(?! PREPARED)/;
const OTHER_CONTROL = /^(ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE TRANSACTION|COMMIT PREPARED|ROLLBACK PREPARED)\b/;

export type TransactionControl =
  /** No BEGIN/COMMIT of its own. */
  | { kind: 'none' }
  /** One BEGIN first and one COMMIT last: the same as our own wrapping, so they can be folded into it. */
  | { kind: 'wrapped'; begin: SqlStatement; commit: SqlStatement }
  /** Anything else (several transactions, savepoints...): the file manages its transactions itself. */
  | { kind: 'own'; statements: SqlStatement[] };

export function transactionControl(statements: readonly SqlStatement[]): TransactionControl {
  const control = statements.filter((statement) => {
    const words = statement.words.join(' ');
    return TRANSACTION_START.test(words) || TRANSACTION_END.test(words) || OTHER_CONTROL.test(words);
  });
  if (control.length === 0) return { kind: 'none' };
  const first = statements[0];
  const last = statements[statements.length - 1];
  if (
    control.length === 2 &&
    control[0] === first &&
    control[1] === last &&
    TRANSACTION_START.test(first.words.join(' ')) &&
    TRANSACTION_END.test(last.words.join(' ')) &&
    // BEGIN ISOLATION LEVEL ... or READ ONLY changes what the transaction is: not ours to fold.
    first.words.length <= 2
  ) {
    return { kind: 'wrapped', begin: first, commit: last };
  }
  return { kind: 'own', statements: control };
}
