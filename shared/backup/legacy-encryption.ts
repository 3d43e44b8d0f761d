import { createDecipheriv, createHmac, hkdfSync, scrypt, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EncryptedDataError, EncryptionKeyError } from './encryption-errors.js';
import { readHead, SegmentTransform, segmentNonce } from './segments.js';

/**
 * Reading backups encrypted before backup-db wrote the age format: streaming AES-256-GCM in 1 MiB
 * segments, key from scrypt of the secret. Decryption only; nothing writes this format any more.
 *
 * File layout, version 1:
 *   0  "RBKE"            magic
 *   4  1                 format version
 *   5  1                 key derivation: scrypt(N=2^15, r=8, p=1) of the secret, 32 bytes
 *   6  20                log2 of the segment size
 *   7  0                 reserved
 *   8  kdf salt (16)     shared by the files of one backup
 *   24 file salt (16)    per file: HKDF-SHA256(master, file salt) gives this file's keys
 *   40 key check (16)    HMAC-SHA256(check key, bytes 0..39): a wrong key fails here, at once
 *   56 segments          ciphertext + 16-byte tag each; the header is their associated data
 */
export const LEGACY_SUFFIX = '.enc';
const MAGIC = Buffer.from('RBKE', 'ascii');
const FORMAT_VERSION = 1;
const KDF_SCRYPT = 1;
const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HEADER_SIZE = 56;
const SIGNED_HEADER = 40;
const TAG_SIZE = 16;
const HKDF_INFO = 'rollback-actions backup encryption v1';

/** Derives master keys from a secret, once per salt: the files of one backup share theirs. */
export class LegacyKeyDeriver {
  private readonly cache = new Map<string, Promise<Buffer>>();
  constructor(private readonly secret: string) {}

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

/** Whether bytes start with this format's magic. */
export function isLegacyHeader(head: Buffer): boolean {
  return head.length >= HEADER_SIZE && head.subarray(0, 4).equals(MAGIC);
}

/** Checks the key against a file's header without decrypting anything; returns the file's keys. */
async function openHeader(
  file: string,
  deriver: LegacyKeyDeriver,
): Promise<{ header: Buffer; encryptionKey: Buffer; segmentSize: number }> {
  const header = await readHead(file, HEADER_SIZE);
  if (!isLegacyHeader(header))
    throw new EncryptedDataError(`${path.basename(file)} is not an encrypted backup file (no "RBKE" header).`);
  if (header[4] !== FORMAT_VERSION || header[5] !== KDF_SCRYPT) {
    throw new EncryptedDataError(
      `${path.basename(file)} uses encryption format ${header[4]}/${header[5]}, which this version of restore-db does not know; use a newer release.`,
    );
  }
  const master = await deriver.master(header.subarray(8, 24));
  const keys = Buffer.from(hkdfSync('sha256', master, header.subarray(24, 40), HKDF_INFO, 64));
  const expected = createHmac('sha256', keys.subarray(32))
    .update(header.subarray(0, SIGNED_HEADER))
    .digest()
    .subarray(0, 16);
  if (!timingSafeEqual(expected, header.subarray(SIGNED_HEADER, HEADER_SIZE))) {
    throw new EncryptionKeyError('The encryption-key does not match the key this backup was encrypted with.', {
      hint: 'This backup is in the AES-256-GCM format of releases before age encryption: pass the secret backup-db was given as encryption-key then.',
    });
  }
  return { header, encryptionKey: keys.subarray(0, 32), segmentSize: 2 ** header[6] };
}

export async function checkLegacyKey(file: string, deriver: LegacyKeyDeriver): Promise<void> {
  await openHeader(file, deriver);
}

export async function decryptLegacyFile(src: string, dst: string, deriver: LegacyKeyDeriver): Promise<void> {
  const { header, encryptionKey, segmentSize } = await openHeader(src, deriver);
  const open = new SegmentTransform(segmentSize + TAG_SIZE, (segment, index, last) => {
    if (segment.length < TAG_SIZE) {
      throw new EncryptedDataError(
        `${path.basename(src)} is truncated: its last segment is shorter than an authentication tag.`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey, segmentNonce(index, last));
    decipher.setAAD(header);
    decipher.setAuthTag(segment.subarray(segment.length - TAG_SIZE));
    try {
      return [decipher.update(segment.subarray(0, segment.length - TAG_SIZE)), decipher.final()];
    } catch {
      throw new EncryptedDataError(
        `${path.basename(src)} failed authentication in segment ${index}${last ? ' (the last one)' : ''}: it was damaged, truncated or modified after it was encrypted.`,
      );
    }
  });
  try {
    await pipeline(
      createReadStream(src, { start: HEADER_SIZE, highWaterMark: 1024 * 1024 }),
      open,
      createWriteStream(dst, { mode: 0o600 }),
    );
  } catch (error) {
    await rm(dst, { force: true });
    throw error;
  }
}
