import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { EncryptedDataError } from './encryption-errors.js';
import { SegmentTransform, segmentNonce } from './segments.js';

/**
 * The payload of an age file (age-encryption.org/v1, "Payload"): after the header, a 16-byte
 * nonce, then the plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
 * HKDF-SHA256(file key, nonce, "payload"), the chunk nonce being an 11-byte big-endian counter
 * and a last-chunk flag. The age-encryption package writes and reads the header (recipients,
 * identities, passphrases, the header MAC); this module streams the payload with Node's native
 * ChaCha20-Poly1305, because the package's pure-JavaScript cipher costs about eight times the CPU
 * (17 against 148 MiB per CPU second, bench/encryption.bench.ts) and dumps are gigabytes.
 */
export const AGE_MAGIC = 'age-encryption.org/v1\n';
export const PAYLOAD_NONCE_SIZE = 16;
const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;

/** The payload's size for `plainBytes`: each 64 KiB chunk (at least one, possibly empty) plus its tag. */
export function encryptedPayloadSize(plainBytes: number): number {
  return plainBytes + TAG_SIZE * Math.max(1, Math.ceil(plainBytes / CHUNK_SIZE));
}

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

/** Where the header ends: just after the newline of its "--- <MAC>" line; undefined if not within `bytes`. */
export function headerLength(bytes: Buffer): number | undefined {
  if (!bytes.subarray(0, AGE_MAGIC.length).equals(Buffer.from(AGE_MAGIC))) return undefined;
  const macLine = bytes.indexOf('\n---', 0, 'latin1');
  if (macLine < 0) return undefined;
  const end = bytes.indexOf('\n', macLine + 1);
  return end < 0 ? undefined : end + 1;
}

/** The recipient types a header names ("X25519", "scrypt"...), from its "-> type ..." stanza lines. */
export function stanzaTypes(header: Buffer): string[] {
  const types = header
    .toString('latin1')
    .split('\n')
    .filter((line) => line.startsWith('-> '))
    .map((line) => line.split(' ')[1]);
  return [...new Set(types)];
}

export function sealPayload(key: Buffer): Transform {
  return new SegmentTransform(CHUNK_SIZE, (chunk, index, last) => {
    const cipher = createCipheriv('chacha20-poly1305', key, segmentNonce(index, last), { authTagLength: TAG_SIZE });
    return [cipher.update(chunk), cipher.final(), cipher.getAuthTag()];
  });
}

export function openPayload(key: Buffer, file: string): Transform {
  const name = path.basename(file);
  return new SegmentTransform(CHUNK_SIZE + TAG_SIZE, (chunk, index, last) => {
    // Only a file's first chunk may be empty (an empty plaintext); anything shorter is cut off.
    if (chunk.length < TAG_SIZE || (last && index > 0n && chunk.length === TAG_SIZE)) {
      throw new EncryptedDataError(`${name} is truncated: its last chunk is ${chunk.length} bytes.`);
    }
    const decipher = createDecipheriv('chacha20-poly1305', key, segmentNonce(index, last), { authTagLength: TAG_SIZE });
    decipher.setAuthTag(chunk.subarray(chunk.length - TAG_SIZE));
    try {
      return [decipher.update(chunk.subarray(0, chunk.length - TAG_SIZE)), decipher.final()];
    } catch {
      throw new EncryptedDataError(
        `${name} failed authentication in chunk ${index}${last ? ' (the last one)' : ''}: it was damaged, truncated or modified after it was encrypted.`,
      );
    }
  });
}
