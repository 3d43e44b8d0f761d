import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  EncryptedDataError, EncryptionKeyError, KeyDeriver, checkBackupKey, decryptBackup, decryptFile, encryptBackup, encryptFile, isEncryptedBackup,
} from '../../shared/backup/encryption.js';

/** Streaming AES-256-GCM in 1 MiB segments: round trips, wrong keys, and every kind of tampering. */
describe('backup encryption', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'backup-encryption-'));
  const secret = 'correct horse battery staple';
  const deriver = new KeyDeriver(secret);
  const salt = randomBytes(16);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  function plaintext(name: string, size: number): string {
    const file = path.join(dir, name);
    writeFileSync(file, randomBytes(size));
    return file;
  }

  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['exactly one segment', 1024 * 1024],
    ['several segments and a tail', 3 * 1024 * 1024 + 12345],
  ])('round-trips %s', async (_name, size) => {
    const source = plaintext(`plain-${size}`, size);
    const sealed = `${source}.enc`;
    const opened = `${source}.out`;
    await encryptFile(source, sealed, deriver, salt);
    // Header (56) + a 16-byte tag per segment; an empty input still has its (empty) last segment.
    const segments = Math.max(1, Math.ceil(size / (1024 * 1024)));
    expect(statSync(sealed).size).toBe(56 + size + 16 * segments);
    if (size >= 64) expect(readFileSync(sealed).includes(readFileSync(source).subarray(0, 64))).toBe(false);
    await decryptFile(sealed, opened, new KeyDeriver(secret));
    expect(sha(opened)).toBe(sha(source));
  });

  it('tells a wrong key at once, before writing anything', async () => {
    const source = plaintext('wrong-key', 2 * 1024 * 1024);
    await encryptFile(source, `${source}.enc`, deriver, salt);
    const target = `${source}.out`;
    await expect(decryptFile(`${source}.enc`, target, new KeyDeriver('another secret'))).rejects.toThrow(EncryptionKeyError);
    expect(() => statSync(target)).toThrow();
  });

  it('detects a flipped bit, a truncation at a segment boundary, a dropped tail and an edited header', async () => {
    const source = plaintext('tamper', 2 * 1024 * 1024 + 100);
    const sealed = `${source}.enc`;
    await encryptFile(source, sealed, deriver, salt);
    const original = readFileSync(sealed);
    const attempt = async (bytes: Buffer) => {
      writeFileSync(sealed, bytes);
      return decryptFile(sealed, `${source}.out`, deriver);
    };
    const flipped = Buffer.from(original);
    flipped[56 + 1024 * 1024 + 500] ^= 0x80;
    await expect(attempt(flipped)).rejects.toThrow(/failed authentication in segment 1:/);
    // Cut right after two whole segments: the second was sealed as "not last", so it cannot end the stream.
    await expect(attempt(original.subarray(0, 56 + 2 * (1024 * 1024 + 16)))).rejects.toThrow(/failed authentication in segment 1 \(the last one\)/);
    await expect(attempt(original.subarray(0, original.length - 10))).rejects.toThrow(EncryptedDataError);
    const header = Buffer.from(original);
    header[6] = 21;
    await expect(attempt(header)).rejects.toThrow(EncryptionKeyError);
    await expect(attempt(original)).resolves.toBeUndefined();
    expect(sha(`${source}.out`)).toBe(sha(source));
  });

  it('encrypts a directory backup file by file with one key derivation, and decrypts it back', async () => {
    const backup = path.join(dir, 'backup.dir');
    mkdirSync(backup);
    writeFileSync(path.join(backup, 'toc.dat'), 'table of contents');
    writeFileSync(path.join(backup, '3001.dat.gz'), randomBytes(5000));
    const before = { toc: sha(path.join(backup, 'toc.dat')), data: sha(path.join(backup, '3001.dat.gz')) };
    expect(await isEncryptedBackup(backup)).toBe(false);
    await encryptBackup(backup, secret);
    expect(await isEncryptedBackup(backup)).toBe(true);
    await expect(checkBackupKey(backup, 'nope, not it')).rejects.toThrow(EncryptionKeyError);
    const out = await decryptBackup(backup, secret, path.join(dir, 'decrypted'));
    expect({ toc: sha(path.join(out, 'toc.dat')), data: sha(path.join(out, '3001.dat.gz')) }).toEqual(before);
    // Same passphrase, same salt, but each file has its own keys: equal plaintexts never look alike.
    writeFileSync(path.join(dir, 'twin-a'), 'same');
    writeFileSync(path.join(dir, 'twin-b'), 'same');
    await encryptFile(path.join(dir, 'twin-a'), path.join(dir, 'twin-a.enc'), deriver, salt);
    await encryptFile(path.join(dir, 'twin-b'), path.join(dir, 'twin-b.enc'), deriver, salt);
    expect(readFileSync(path.join(dir, 'twin-a.enc')).subarray(56)).not.toEqual(readFileSync(path.join(dir, 'twin-b.enc')).subarray(56));
  });

  it('refuses what is not in its format', async () => {
    const file = plaintext('not-encrypted', 100);
    await expect(decryptFile(file, `${file}.out`, deriver)).rejects.toThrow(/is not an encrypted backup file/);
    truncateSync(file, 0);
    expect(await isEncryptedBackup(file)).toBe(false);
  });
});
