import type { Decrypter } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { removePartial } from '../cancellation.js';
import { errorMessage, InputError } from '../errors.js';
import {
  AGE_MAGIC,
  PAYLOAD_NONCE_SIZE,
  encryptedPayloadSize,
  headerLength,
  openPayload,
  payloadKey,
  sealPayload,
  stanzaTypes,
} from './age-payload.js';
import { listFiles } from './checksum.js';
import { EncryptedDataError, EncryptionKeyError } from './encryption-errors.js';
import {
  checkLegacyKey,
  decryptLegacyFile,
  isLegacyHeader,
  LEGACY_SUFFIX,
  LegacyKeyDeriver,
} from './legacy-encryption.js';
import { readHead } from './segments.js';
import { writingFile } from './disk-space.js';

export { EncryptedDataError, EncryptionKeyError } from './encryption-errors.js';

/**
 * Backups are encrypted in the age format (age-encryption.org/v1), so that at 3 a.m., with this
 * suite broken or GitHub down, `age -d -i key.txt backup.dump.age | pg_restore ...` opens them.
 * Anyone who can read a run can download its artifacts: a dump of production data must not be
 * readable in one.
 *
 * The `encryption-key` input is read as one of:
 * - an age identity, `AGE-SECRET-KEY-1...` (what `age-keygen` writes; the whole key file, comments
 *   included, works too): backups are encrypted to its recipient and open with `age -d -i key.txt`,
 *   non-interactively, in scripts and loops;
 * - age recipients only, `age1...` (backup-db): the backup job can write backups it cannot read;
 *   restoring needs the matching identity;
 * - anything else is a passphrase (age's scrypt recipient, work factor 2^18, what `age -p` does):
 *   `age -d` asks for it on the terminal.
 * Backups written before age (AES-256-GCM, ".enc") still decrypt with the secret they were made with.
 */
export const ENCRYPTED_SUFFIX = '.age';
export const ENCRYPTION_ALGORITHM = 'age';
export const ENCRYPTION_FORMAT_VERSION = 1;
const HEAD_READ = 64 * 1024;
// Loaded on first use: the package (with its post-quantum code) is most of a bundle, and most runs encrypt nothing.
const loadAge = () => import('age-encryption');
const MAX_HEADER = 4 * 1024 * 1024;
// Large reads and writes: fewer stream turns per 64 KiB chunk sealed (a third less CPU than 1 MiB reads, measured).
const STREAM_BUFFER = { highWaterMark: 4 * 1024 * 1024 };

export type BackupKey =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'identities'; identities: string[] }
  | { kind: 'recipients'; recipients: string[] };

/** A key that is not usable, with a message that never quotes the (secret) value. */
export class BackupKeyFormatError extends Error {}

/** An encryption-key input: the value as given (the pre-age format used it as is) and how it reads for age. */
export interface EncryptionSecret {
  value: string;
  key: BackupKey;
}

/**
 * The encryption-key input, checked: to encrypt (backup-db), a passphrase must have at least 16
 * characters; to decrypt (restore-db), recipients alone are refused. Errors name the input and
 * never quote the value.
 */
export async function readEncryptionSecret(
  value: string | undefined,
  use: 'encrypt' | 'decrypt',
): Promise<EncryptionSecret | undefined> {
  if (value === undefined) return undefined;
  let key: BackupKey;
  try {
    key = parseBackupKey(value);
    await checkBackupKey(key);
  } catch (error) {
    if (error instanceof BackupKeyFormatError) throw new InputError('encryption-key', `${error.message}.`);
    throw error;
  }
  if (use === 'encrypt' && key.kind === 'passphrase' && value.length < 16) {
    throw new InputError(
      'encryption-key',
      'must be an age identity (AGE-SECRET-KEY-1..., from age-keygen), age recipients (age1...), or a passphrase of at least 16 characters; the passphrase given is shorter.',
    );
  }
  if (use === 'decrypt' && key.kind === 'recipients') {
    throw new InputError(
      'encryption-key',
      'holds only age recipients (public keys), which cannot decrypt: give the identity (AGE-SECRET-KEY-1...) they belong to.',
    );
  }
  return { value, key };
}

/**
 * Reads an encryption-key value: an age identity (file), age recipients, or a passphrase. The keys'
 * shape only: checkBackupKey has age-encryption decode them.
 */
export function parseBackupKey(value: string): BackupKey {
  const lines = value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const isIdentity = (line: string) => /^AGE-SECRET-KEY-/i.test(line);
  const isRecipient = (line: string) => /^age1/i.test(line);
  if (!lines.some((line) => isIdentity(line) || isRecipient(line))) {
    if (value.includes('\n'))
      throw new BackupKeyFormatError(
        'is several lines but no age key; a passphrase must be one line (age -d reads one line)',
      );
    return { kind: 'passphrase', passphrase: value };
  }
  const identities: string[] = [];
  const recipients: string[] = [];
  for (const [index, line] of lines.entries()) {
    if (isIdentity(line)) identities.push(line.toUpperCase());
    else if (isRecipient(line)) recipients.push(line.toLowerCase());
    else {
      throw new BackupKeyFormatError(
        `holds age keys, but line ${index + 1} is neither an identity (AGE-SECRET-KEY-1...) nor a recipient (age1...)`,
      );
    }
  }
  if (identities.length > 0 && recipients.length > 0) {
    throw new BackupKeyFormatError(
      'mixes identities and recipients; give the identity (its recipient is derived from it) or recipients only',
    );
  }
  return identities.length > 0 ? { kind: 'identities', identities } : { kind: 'recipients', recipients };
}

/** Has age-encryption decode every identity and recipient (their Bech32 checksums included). */
export async function checkBackupKey(key: BackupKey): Promise<void> {
  if (key.kind === 'passphrase') return;
  const { Decrypter, Encrypter } = await loadAge();
  const lines = key.kind === 'identities' ? key.identities : key.recipients;
  for (const [index, line] of lines.entries()) {
    try {
      if (key.kind === 'identities') new Decrypter().addIdentity(line);
      else new Encrypter().addRecipient(line);
    } catch {
      throw new BackupKeyFormatError(
        key.kind === 'identities'
          ? `has an invalid age identity (key ${index + 1}; expected AGE-SECRET-KEY-1..., as age-keygen writes it)`
          : `has an invalid age recipient (key ${index + 1}; expected age1...)`,
      );
    }
  }
}

async function decrypterFor(key: BackupKey): Promise<Decrypter> {
  const { Decrypter } = await loadAge();
  const decrypter = new Decrypter();
  if (key.kind === 'passphrase') decrypter.addPassphrase(key.passphrase);
  else if (key.kind === 'identities') for (const identity of key.identities) decrypter.addIdentity(identity);
  else {
    throw new EncryptionKeyError(
      'The encryption-key holds only age recipients (public keys); decrypting needs an identity.',
      {
        hint: 'Pass the identity (AGE-SECRET-KEY-1..., the key file age-keygen wrote) whose recipient the backup was encrypted to.',
      },
    );
  }
  return decrypter;
}

/**
 * A new file's age header, written by age-encryption, and its file key. With recipients, the key is
 * taken from the wrapping call (an extra recipient that adds no stanza); a passphrase allows no other
 * recipient, so the header is opened again (one more scrypt).
 */
async function newHeader(key: BackupKey): Promise<{ header: Buffer; fileKey: Uint8Array }> {
  const { Encrypter, identityToRecipient } = await loadAge();
  const encrypter = new Encrypter();
  let fileKey: Uint8Array | undefined;
  if (key.kind === 'passphrase') {
    encrypter.setPassphrase(key.passphrase);
  } else {
    const recipients =
      key.kind === 'recipients'
        ? key.recipients
        : await Promise.all(key.identities.map((identity) => identityToRecipient(identity)));
    for (const recipient of recipients) encrypter.addRecipient(recipient);
    encrypter.addRecipient({
      wrapFileKey: (key: Uint8Array) => {
        fileKey = Uint8Array.from(key);
        return [];
      },
    });
  }
  // The empty payload after the header is discarded: the real one is streamed by sealPayload.
  const sealedEmpty = Buffer.from(await encrypter.encrypt(new Uint8Array(0)));
  const header = sealedEmpty.subarray(0, headerLength(sealedEmpty));
  return { header, fileKey: fileKey ?? (await (await decrypterFor(key)).decryptHeader(header)) };
}

/** Encrypts src into dst (an age file); returns the recipient types its header names. */
export async function encryptFile(src: string, dst: string, key: BackupKey): Promise<string[]> {
  const { header, fileKey } = await newHeader(key);
  const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
  const out = createWriteStream(dst, { mode: 0o600, ...STREAM_BUFFER });
  out.write(header);
  out.write(nonce);
  try {
    await writingFile(
      dst,
      async () => encryptedSize(header.length, (await stat(src)).size),
      () => pipeline(createReadStream(src, STREAM_BUFFER), sealPayload(payloadKey(fileKey, nonce)), out),
    );
  } catch (error) {
    // A partial age file cannot be decrypted, and it holds the disk space the failure needed.
    removePartial(dst);
    throw error;
  }
  return stanzaTypes(header);
}

/** The size of a file of `plainBytes` once encrypted: header, payload nonce, then each chunk plus its tag. */
export function encryptedSize(headerBytes: number, plainBytes: number): number {
  return headerBytes + PAYLOAD_NONCE_SIZE + encryptedPayloadSize(plainBytes);
}

/** The header of an age file, read from its start; undefined when the file is not one. */
async function readAgeHeader(file: string): Promise<Buffer | undefined> {
  let head = await readHead(file, HEAD_READ);
  let length = headerLength(head);
  if (length === undefined && head.length === HEAD_READ) {
    head = await readHead(file, MAX_HEADER);
    length = headerLength(head);
  }
  return length === undefined ? undefined : head.subarray(0, length);
}

/** Opens an age file's header with the key: its file key, or an error saying what did not match. */
async function openAgeHeader(file: string, header: Buffer, key: BackupKey): Promise<Uint8Array> {
  const decrypter = await decrypterFor(key);
  try {
    return await decrypter.decryptHeader(header);
  } catch (error) {
    const message = errorMessage(error);
    if (/no identity matched/.test(message)) {
      const types = stanzaTypes(header);
      const hint = types.includes('scrypt')
        ? key.kind === 'passphrase'
          ? 'This backup was encrypted with a passphrase: pass the one backup-db was given.'
          : 'This backup was encrypted with a passphrase, not to an age identity: pass that passphrase as encryption-key.'
        : key.kind === 'passphrase'
          ? `This backup was encrypted to an age recipient (${types.join(', ')}): pass its identity (AGE-SECRET-KEY-1...).`
          : 'Pass the identity whose recipient backup-db encrypted to.';
      throw new EncryptionKeyError('The encryption-key does not match the key this backup was encrypted with.', {
        hint,
      });
    }
    throw new EncryptedDataError(`${path.basename(file)} has a damaged or modified age header (${message}).`);
  }
}

/** Decrypts an age file into dst, checking the key on its header before writing anything. */
async function decryptAgeFile(src: string, dst: string, header: Buffer, key: BackupKey): Promise<void> {
  const fileKey = await openAgeHeader(src, header, key);
  const nonce = await readHead(src, header.length + PAYLOAD_NONCE_SIZE);
  if (nonce.length < header.length + PAYLOAD_NONCE_SIZE)
    throw new EncryptedDataError(`${path.basename(src)} is truncated: it ends inside its payload nonce.`);
  const payload = createReadStream(src, { start: header.length + PAYLOAD_NONCE_SIZE, ...STREAM_BUFFER });
  try {
    await pipeline(
      payload,
      openPayload(payloadKey(fileKey, nonce.subarray(header.length)), src),
      createWriteStream(dst, { mode: 0o600, ...STREAM_BUFFER }),
    );
  } catch (error) {
    await rm(dst, { force: true });
    throw error;
  }
}

/** Opens one encrypted file of either format; the pre-age format's keys are derived once per backup. */
class FileOpener {
  private legacy?: LegacyKeyDeriver;
  private readonly key: BackupKey;
  constructor(private readonly secret: EncryptionSecret) {
    this.key = secret.key;
  }

  private legacyDeriver(): LegacyKeyDeriver {
    this.legacy ??= new LegacyKeyDeriver(this.secret.value);
    return this.legacy;
  }

  async check(file: string): Promise<void> {
    const header = await readAgeHeader(file);
    if (header) await openAgeHeader(file, header, this.key);
    else if (isLegacyHeader(await readHead(file, 64))) await checkLegacyKey(file, this.legacyDeriver());
    else throw notEncrypted(file);
  }

  async decrypt(src: string, dst: string): Promise<void> {
    const header = await readAgeHeader(src);
    if (header) return decryptAgeFile(src, dst, header, this.key);
    if (isLegacyHeader(await readHead(src, 64))) return decryptLegacyFile(src, dst, this.legacyDeriver());
    throw notEncrypted(src);
  }
}

function notEncrypted(file: string): EncryptedDataError {
  return new EncryptedDataError(
    `${path.basename(file)} is not an encrypted backup file (neither an age file nor the earlier "RBKE" format).`,
  );
}

/** Whether a file is encrypted: an age file, or one in the earlier AES-GCM format. */
export async function isEncryptedFile(file: string): Promise<boolean> {
  const head = await readHead(file, 64);
  return head.subarray(0, AGE_MAGIC.length).toString('latin1') === AGE_MAGIC || isLegacyHeader(head);
}

/** What backup-db records of an encryption: the format and the recipient types of its header. */
export interface EncryptionRecord {
  algorithm: string;
  formatVersion: number;
  kdf: string;
}

/**
 * Encrypts a backup in place: a file becomes `<file>.age`, a directory's files each get `.age`.
 * The plaintext is removed. Returns the new path and what to record in the metadata.
 */
export async function encryptBackup(
  backupPath: string,
  key: BackupKey,
): Promise<{ path: string; record: EncryptionRecord }> {
  const types = new Set<string>();
  const encrypt = async (file: string) => {
    for (const type of await encryptFile(file, `${file}${ENCRYPTED_SUFFIX}`, key)) types.add(type);
    await rm(file);
  };
  let encrypted = backupPath;
  if ((await stat(backupPath)).isDirectory()) {
    for (const name of await listFiles(backupPath)) await encrypt(path.join(backupPath, name));
  } else {
    await encrypt(backupPath);
    encrypted = `${backupPath}${ENCRYPTED_SUFFIX}`;
  }
  return {
    path: encrypted,
    record: { algorithm: ENCRYPTION_ALGORITHM, formatVersion: ENCRYPTION_FORMAT_VERSION, kdf: [...types].join('+') },
  };
}

/** Whether a backup (file, or directory of files) is encrypted. */
export async function isEncryptedBackup(backupPath: string): Promise<boolean> {
  if (!(await stat(backupPath)).isDirectory()) return isEncryptedFile(backupPath);
  const files = await listFiles(backupPath);
  return (
    files.length > 0 &&
    files.every((name) => name.endsWith(ENCRYPTED_SUFFIX) || name.endsWith(LEGACY_SUFFIX)) &&
    (await isEncryptedFile(path.join(backupPath, files[0])))
  );
}

const withoutSuffix = (name: string) => name.replace(/\.(age|enc)$/, '');

/**
 * Decrypts a backup into outDir (checking the key on the first file before writing anything) and
 * returns the plaintext path: `<name without .age>` for a file, a directory of the same name.
 */
export async function decryptBackup(backupPath: string, secret: EncryptionSecret, outDir: string): Promise<string> {
  const opener = new FileOpener(secret);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const plainName = withoutSuffix(path.basename(backupPath));
  if (!(await stat(backupPath)).isDirectory()) {
    const target = path.join(outDir, plainName);
    await opener.decrypt(backupPath, target);
    return target;
  }
  const files = await listFiles(backupPath);
  if (files.length > 0) await opener.check(path.join(backupPath, files[0]));
  const targetDir = path.join(outDir, plainName);
  await mkdir(targetDir, { recursive: true, mode: 0o700 });
  for (const name of files) {
    if (withoutSuffix(name) === name)
      throw new EncryptedDataError(`${name} in ${path.basename(backupPath)} is not encrypted, but the backup is.`);
    const target = path.join(targetDir, withoutSuffix(name));
    await mkdir(path.dirname(target), { recursive: true });
    await opener.decrypt(path.join(backupPath, name), target);
  }
  return targetDir;
}
