import { ActionError } from '../errors.js';

/** The key given does not open the backup (wrong key, or the wrong kind of key). */
export class EncryptionKeyError extends ActionError {}
/** The encrypted file is not in a known format, or was damaged, truncated or modified. */
export class EncryptedDataError extends ActionError {}
