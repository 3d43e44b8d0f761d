import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { removePartial } from '../cancellation.js';
import { ActionError } from '../errors.js';
import { listFiles } from './checksum.js';
import { writingFile } from './disk-space.js';

/**
 * Symmetric encryption of backups with a key from a secret: anyone who can read a run can download
 * its artifacts, so a dump of production data must not be readable in one.
 *
 * Streaming AES-256-GCM in segments (the STREAM construction): dumps are many gigabytes, one GCM
 * message is limited to 64 GiB and its tag only comes at the end, so the plaintext is sealed in
 * 1 MiB segments, each with its own tag; the nonce is the segment number plus a "last segment"
 * flag, so reordered, dropped or truncated segments fail authentication too.
 *
 * File layout, version 1:
 *   0  "RBKE"            magic
 *   4  1                 format version
 *   5  1                 key derivation: scrypt(N=2^15, r=8, p=1) of the secret, 32 bytes
 *   6  20                log2 of the segment size
 *   7  0                 reserved
 *   8  kdf salt (16)     shared by the files of one backup, so the slow derivation runs once
 *   24 file salt (16)    per file: HKDF-SHA256(master, file salt) gives this file's keys
 *   40 key check (16)    HMAC-SHA256(check key, bytes 0..39): a wrong key fails here, at once
 *   56 segments          ciphertext + 16-byte tag each; the header is their associated data
 */
export const ENCRYPTION_ALGORITHM = 'aes-256-gcm';
export const ENCRYPTION_FORMAT_VERSION = 1;
export const ENCRYPTED_SUFFIX = '.enc';
const MAGIC = Buffer.from('RBKE', 'ascii');
const KDF_SCRYPT = 1;
const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const SEGMENT_LOG2 = 20;
const HEADER_SIZE = 56;
const SIGNED_HEADER = 40;
const TAG_SIZE = 16;
const HKDF_INFO = 'rollback-actions backup encryption v1';

export class EncryptionKeyError extends ActionError {}
export class EncryptedDataError extends ActionError {}

interface Header {
  segmentSize: number;
  kdfSalt: Buffer;
  fileSalt: Buffer;
  keyCheck: Buffer;
  bytes: Buffer;
}

/** Derives master keys from a secret, once per salt (scrypt is slow by design). */
export class KeyDeriver {
  private readonly cache = new Map<string, Promise<Buffer>>();
  constructor(private readonly secret: string) {
    if (secret.length === 0) throw new ActionError('The encryption key is empty.');
  }

  master(salt: Buffer): Promise<Buffer> {
    const key = salt.toString('hex');
    let derived = this.cache.get(key);
    if (!derived) {
      derived = new Promise<Buffer>((resolve, reject) =>
        scrypt(this.secret, salt, 32, SCRYPT_PARAMS, (error, result) => (error ? reject(error) : resolve(result))),
      );
      this.cache.set(key, derived);
    }
    return derived;
  }
}

function fileKeys(master: Buffer, fileSalt: Buffer): { encryption: Buffer; check: Buffer } {
  const keys = Buffer.from(hkdfSync('sha256', master, fileSalt, HKDF_INFO, 64));
  return { encryption: keys.subarray(0, 32), check: keys.subarray(32) };
}

function keyCheck(checkKey: Buffer, signedHeader: Buffer): Buffer {
  return createHmac('sha256', checkKey).update(signedHeader).digest().subarray(0, 16);
}

function nonce(index: bigint, last: boolean): Buffer {
  const value = Buffer.alloc(12);
  value.writeBigUInt64BE(index, 3);
  value[11] = last ? 1 : 0;
  return value;
}

function parseHeader(bytes: Buffer): Header | undefined {
  if (bytes.length < HEADER_SIZE || !bytes.subarray(0, 4).equals(MAGIC)) return undefined;
  return {
    segmentSize: 2 ** bytes[6],
    kdfSalt: bytes.subarray(8, 24),
    fileSalt: bytes.subarray(24, 40),
    keyCheck: bytes.subarray(40, 56),
    bytes: bytes.subarray(0, HEADER_SIZE),
  };
}

async function readHead(file: string, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Whether a file starts with this format's header (format version and KDF included). */
export async function isEncryptedFile(file: string): Promise<boolean> {
  const head = await readHead(file, HEADER_SIZE);
  return parseHeader(head) !== undefined;
}

/** Cuts a stream into fixed-size units and transforms each; the last (possibly short) unit is flagged. */
class SegmentTransform extends Transform {
  private chunks: Buffer[] = [];
  private length = 0;
  private index = 0n;
  constructor(
    private readonly unit: number,
    private readonly transformSegment: (segment: Buffer, index: bigint, last: boolean) => Buffer,
  ) {
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    try {
      // Keep at least one byte back: only the end of the stream says which segment is the last.
      if (this.length > this.unit) {
        const data = Buffer.concat(this.chunks, this.length);
        let offset = 0;
        while (data.length - offset > this.unit) {
          this.push(this.transformSegment(data.subarray(offset, offset + this.unit), this.index++, false));
          offset += this.unit;
        }
        const rest = Buffer.from(data.subarray(offset));
        this.chunks = [rest];
        this.length = rest.length;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.push(this.transformSegment(Buffer.concat(this.chunks, this.length), this.index++, true));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/** Encrypts src into dst. All files of one backup share `kdfSalt`, so the key is derived once. */
export async function encryptFile(src: string, dst: string, deriver: KeyDeriver, kdfSalt: Buffer): Promise<void> {
  const fileSalt = randomBytes(16);
  const keys = fileKeys(await deriver.master(kdfSalt), fileSalt);
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header[4] = ENCRYPTION_FORMAT_VERSION;
  header[5] = KDF_SCRYPT;
  header[6] = SEGMENT_LOG2;
  kdfSalt.copy(header, 8);
  fileSalt.copy(header, 24);
  keyCheck(keys.check, header.subarray(0, SIGNED_HEADER)).copy(header, SIGNED_HEADER);

  const seal = new SegmentTransform(2 ** SEGMENT_LOG2, (segment, index, last) => {
    const cipher = createCipheriv('aes-256-gcm', keys.encryption, nonce(index, last));
    cipher.setAAD(header);
    return Buffer.concat([cipher.update(segment), cipher.final(), cipher.getAuthTag()]);
  });
  const out = createWriteStream(dst, { mode: 0o600 });
  out.write(header);
  try {
    await writingFile(dst, async () => encryptedSize((await stat(src)).size), () => pipeline(createReadStream(src, { highWaterMark: 1024 * 1024 }), seal, out));
  } catch (error) {
    // A partial .enc cannot be decrypted, and it holds the disk space the failure needed.
    removePartial(dst);
    throw error;
  }
}

/** The size of a file of `plainBytes` once encrypted: header, then each segment plus its tag. */
export function encryptedSize(plainBytes: number): number {
  return HEADER_SIZE + plainBytes + TAG_SIZE * Math.max(1, Math.ceil(plainBytes / 2 ** SEGMENT_LOG2));
}

/**
 * Checks the key against a file's header without decrypting anything; throws EncryptionKeyError
 * for a wrong key and EncryptedDataError for a file that is not (or no longer) in this format.
 */
async function openHeader(file: string, deriver: KeyDeriver): Promise<{ header: Header; keys: { encryption: Buffer; check: Buffer } }> {
  const head = await readHead(file, HEADER_SIZE);
  const header = parseHeader(head);
  if (!header) throw new EncryptedDataError(`${path.basename(file)} is not an encrypted backup file (no "RBKE" header).`);
  if (head[4] !== ENCRYPTION_FORMAT_VERSION || head[5] !== KDF_SCRYPT) {
    throw new EncryptedDataError(`${path.basename(file)} uses encryption format ${head[4]}/${head[5]}, which this version of restore-db does not know; use a newer release.`);
  }
  const keys = fileKeys(await deriver.master(header.kdfSalt), header.fileSalt);
  const expected = keyCheck(keys.check, header.bytes.subarray(0, SIGNED_HEADER));
  if (!timingSafeEqual(expected, header.keyCheck)) {
    throw new EncryptionKeyError('The encryption-key does not match the key this backup was encrypted with.', {
      hint: 'Pass the same secret that backup-db was given as encryption-key.',
    });
  }
  return { header, keys };
}

export async function checkKey(file: string, deriver: KeyDeriver): Promise<void> {
  await openHeader(file, deriver);
}

export async function decryptFile(src: string, dst: string, deriver: KeyDeriver): Promise<void> {
  const { header, keys } = await openHeader(src, deriver);
  const open = new SegmentTransform(header.segmentSize + TAG_SIZE, (segment, index, last) => {
    if (segment.length < TAG_SIZE) {
      throw new EncryptedDataError(`${path.basename(src)} is truncated: its last segment is shorter than an authentication tag.`);
    }
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, nonce(index, last));
    decipher.setAAD(header.bytes);
    decipher.setAuthTag(segment.subarray(segment.length - TAG_SIZE));
    try {
      return Buffer.concat([decipher.update(segment.subarray(0, segment.length - TAG_SIZE)), decipher.final()]);
    } catch {
      throw new EncryptedDataError(
        `${path.basename(src)} failed authentication in segment ${index}${last ? ' (the last one)' : ''}: it was damaged, truncated or modified after it was encrypted.`,
      );
    }
  });
  try {
    await pipeline(createReadStream(src, { start: HEADER_SIZE, highWaterMark: 1024 * 1024 }), open, createWriteStream(dst, { mode: 0o600 }));
  } catch (error) {
    await rm(dst, { force: true });
    throw error;
  }
}

/**
 * Encrypts a backup in place: a file becomes `<file>.enc`, a directory's files each get `.enc`.
 * The plaintext is removed. Returns the new path.
 */
export async function encryptBackup(backupPath: string, secret: string): Promise<string> {
  const deriver = new KeyDeriver(secret);
  const kdfSalt = randomBytes(16);
  if ((await stat(backupPath)).isDirectory()) {
    // The caller removes the directory when this fails: half of it encrypted is no backup either.
    for (const name of await listFiles(backupPath)) {
      const file = path.join(backupPath, name);
      await encryptFile(file, `${file}${ENCRYPTED_SUFFIX}`, deriver, kdfSalt);
      await rm(file);
    }
    return backupPath;
  }
  const encrypted = `${backupPath}${ENCRYPTED_SUFFIX}`;
  await encryptFile(backupPath, encrypted, deriver, kdfSalt);
  await rm(backupPath);
  return encrypted;
}

/** Whether a backup (file, or directory of files) is in this encrypted format. */
export async function isEncryptedBackup(backupPath: string): Promise<boolean> {
  if (!(await stat(backupPath)).isDirectory()) return isEncryptedFile(backupPath);
  const files = await listFiles(backupPath);
  return files.length > 0 && files.every((name) => name.endsWith(ENCRYPTED_SUFFIX)) && (await isEncryptedFile(path.join(backupPath, files[0])));
}

/**
 * Decrypts a backup into outDir (checking the key on the first file before writing anything) and
 * returns the plaintext path: `<name without .enc>` for a file, a directory of the same name.
 */
export async function decryptBackup(backupPath: string, secret: string, outDir: string): Promise<string> {
  const deriver = new KeyDeriver(secret);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const plainName = path.basename(backupPath).replace(/\.enc$/, '');
  if (!(await stat(backupPath)).isDirectory()) {
    const target = path.join(outDir, plainName);
    await decryptFile(backupPath, target, deriver);
    return target;
  }
  const files = await listFiles(backupPath);
  if (files.length > 0) await checkKey(path.join(backupPath, files[0]), deriver);
  const targetDir = path.join(outDir, plainName);
  await mkdir(targetDir, { recursive: true, mode: 0o700 });
  for (const name of files) {
    if (!name.endsWith(ENCRYPTED_SUFFIX)) throw new EncryptedDataError(`${name} in ${path.basename(backupPath)} is not encrypted, but the backup is.`);
    const target = path.join(targetDir, name.slice(0, -ENCRYPTED_SUFFIX.length));
    await mkdir(path.dirname(target), { recursive: true });
    await decryptFile(path.join(backupPath, name), target, deriver);
  }
  return targetDir;
}

/** Checks a key against a backup without decrypting it (the first file's header). */
export async function checkBackupKey(backupPath: string, secret: string): Promise<void> {
  const deriver = new KeyDeriver(secret);
  if (!(await stat(backupPath)).isDirectory()) return checkKey(backupPath, deriver);
  const [first] = await listFiles(backupPath);
  if (first) await checkKey(path.join(backupPath, first), deriver);
}
