import { Decrypter, Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  EncryptedDataError,
  EncryptionKeyError,
  checkBackupKey,
  decryptBackup,
  encryptBackup,
  encryptFile,
  isEncryptedBackup,
  parseBackupKey,
  readEncryptionSecret,
  type BackupKey,
} from '../../shared/backup/encryption.js';

/** The key with its last character changed, so its bech32 checksum fails (never the same character again). */
const damaged = (key: string) => `${key.slice(0, -1)}${key.endsWith('Q') ? 'P' : 'Q'}`;
import { REPO_ROOT } from '../../testkit/action-harness.js';

/**
 * The age format: the age-encryption package writes and reads headers, the payload is streamed in
 * 64 KiB ChaCha20-Poly1305 chunks. Round trips, the package's own decrypter and encrypter as the
 * reference on the other side, wrong keys, every kind of tampering, and the earlier format.
 */
describe('backup encryption (age)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'backup-encryption-'));
  let identity: string;
  let key: BackupKey;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    identity = await generateIdentity();
    key = parseBackupKey(identity);
  });
  const secretOf = (value: string) => ({ value, key: parseBackupKey(value) });

  const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  function plaintext(name: string, size: number): string {
    const file = path.join(dir, name);
    writeFileSync(file, randomBytes(size));
    return file;
  }
  const headerSize = (file: string) => readFileSync(file).indexOf('\n', readFileSync(file).indexOf('\n---') + 1) + 1;

  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['exactly one chunk', 64 * 1024],
    ['several chunks and a tail', 3 * 64 * 1024 + 12345],
    ['a few megabytes', 3 * 1024 * 1024 + 7],
  ])('round-trips %s, and the age-encryption package reads it byte for byte', async (_name, size) => {
    const source = plaintext(`plain-${size}`, size);
    const sealed = `${source}.age`;
    expect(await encryptFile(source, sealed, key)).toEqual(['X25519']);
    // Header, 16-byte nonce, a 16-byte tag per 64 KiB chunk; an empty input still has its (empty) last chunk.
    const chunks = Math.max(1, Math.ceil(size / (64 * 1024)));
    expect(statSync(sealed).size).toBe(headerSize(sealed) + 16 + size + 16 * chunks);
    if (size >= 64) expect(readFileSync(sealed).includes(readFileSync(source).subarray(0, 64))).toBe(false);
    const opened = await decryptBackup(sealed, secretOf(identity), path.join(dir, `out-${size}`));
    expect(sha(opened)).toBe(sha(source));

    const reference = new Decrypter();
    reference.addIdentity(identity);
    expect(Buffer.from(await reference.decrypt(readFileSync(sealed))).equals(readFileSync(source))).toBe(true);
  });

  it('reads what the age-encryption package wrote itself', async () => {
    const source = plaintext('by-the-package', 200_000);
    const encrypter = new Encrypter();
    encrypter.addRecipient(await identityToRecipient(identity));
    writeFileSync(`${source}.age`, await encrypter.encrypt(readFileSync(source)));
    const opened = await decryptBackup(`${source}.age`, secretOf(identity), path.join(dir, 'package-out'));
    expect(sha(opened)).toBe(sha(source));
  });

  it('encrypts to recipients alone, which only the identity opens', async () => {
    const source = plaintext('to-recipient', 1000);
    const recipientOnly = parseBackupKey(
      `# public key of the backup identity\n${await identityToRecipient(identity)}\n`,
    );
    expect(recipientOnly.kind).toBe('recipients');
    await encryptFile(source, `${source}.age`, recipientOnly);
    expect(sha(await decryptBackup(`${source}.age`, secretOf(identity), path.join(dir, 'recipient-out')))).toBe(
      sha(source),
    );
  });

  it('encrypts with a passphrase (scrypt), which the package opens with addPassphrase', async () => {
    const passphrase = 'correct horse battery staple';
    const source = plaintext('passphrase', 70_000);
    expect(await encryptFile(source, `${source}.age`, parseBackupKey(passphrase))).toEqual(['scrypt']);
    const reference = new Decrypter();
    reference.addPassphrase(passphrase);
    expect(Buffer.from(await reference.decrypt(readFileSync(`${source}.age`))).equals(readFileSync(source))).toBe(true);
    const target = path.join(dir, 'wrong-kind');
    const wrongKind = decryptBackup(`${source}.age`, secretOf(identity), target);
    await expect(wrongKind).rejects.toThrow(EncryptionKeyError);
    await expect(wrongKind).rejects.toMatchObject({
      hint: expect.stringMatching(/encrypted with a passphrase, not to an age identity/),
    });
    expect(readdirSync(target)).toEqual([]);
  }, 60_000);

  it('tells a wrong identity at once, before writing anything', async () => {
    const source = plaintext('wrong-key', 200_000);
    await encryptFile(source, `${source}.age`, key);
    const target = path.join(dir, 'wrong-key-out');
    await expect(decryptBackup(`${source}.age`, secretOf(await generateIdentity()), target)).rejects.toThrow(
      /^The encryption-key does not match the key this backup was encrypted with\.$/,
    );
    expect(readdirSync(target)).toEqual([]);
  });

  it('detects a flipped bit, a truncation at a chunk boundary, a dropped tail and an edited header MAC', async () => {
    const source = plaintext('tamper', 2 * 64 * 1024 + 100);
    const sealed = `${source}.age`;
    await encryptFile(source, sealed, key);
    const original = readFileSync(sealed);
    const payloadStart = headerSize(sealed) + 16;
    const attempt = async (bytes: Buffer) => {
      writeFileSync(sealed, bytes);
      return decryptBackup(sealed, secretOf(identity), path.join(dir, 'tamper-out'));
    };
    const flipped = Buffer.from(original);
    flipped[payloadStart + 64 * 1024 + 16 + 500] ^= 0x80;
    await expect(attempt(flipped)).rejects.toThrow(/failed authentication in chunk 1:/);
    // Cut right after two whole chunks: the second was sealed as "not last", so it cannot end the stream.
    await expect(attempt(original.subarray(0, payloadStart + 2 * (64 * 1024 + 16)))).rejects.toThrow(
      /failed authentication in chunk 1 \(the last one\)/,
    );
    await expect(attempt(original.subarray(0, original.length - 10))).rejects.toThrow(EncryptedDataError);
    const mac = Buffer.from(original);
    mac[headerSize(sealed) - 3] = mac[headerSize(sealed) - 3] === 0x41 ? 0x42 : 0x41;
    await expect(attempt(mac)).rejects.toThrow(/has a damaged or modified age header/);
    await expect(attempt(original)).resolves.toBe(path.join(dir, 'tamper-out', 'tamper'));
  });

  it('encrypts a directory backup file by file, each with its own file key, and decrypts it back', async () => {
    const backup = path.join(dir, 'backup.dir');
    mkdirSync(backup);
    writeFileSync(path.join(backup, 'toc.dat'), 'table of contents');
    writeFileSync(path.join(backup, '3001.dat.gz'), randomBytes(5000));
    writeFileSync(path.join(backup, '3002.dat.gz'), 'same');
    writeFileSync(path.join(backup, '3003.dat.gz'), 'same');
    const before = readdirSync(backup).map((name) => sha(path.join(backup, name)));
    expect(await isEncryptedBackup(backup)).toBe(false);
    const { path: encrypted, record } = await encryptBackup(backup, key);
    expect({ encrypted, record }).toEqual({
      encrypted: backup,
      record: { algorithm: 'age', formatVersion: 1, kdf: 'X25519' },
    });
    expect(readdirSync(backup).sort()).toEqual([
      '3001.dat.gz.age',
      '3002.dat.gz.age',
      '3003.dat.gz.age',
      'toc.dat.age',
    ]);
    expect(await isEncryptedBackup(backup)).toBe(true);
    expect(readFileSync(path.join(backup, '3002.dat.gz.age'))).not.toEqual(
      readFileSync(path.join(backup, '3003.dat.gz.age')),
    );
    const out = await decryptBackup(backup, secretOf(identity), path.join(dir, 'decrypted'));
    expect(readdirSync(out).map((name) => sha(path.join(out, name)))).toEqual(before);
  });

  it('reads a key file as age-keygen writes it, recipients, or a passphrase; refuses what is neither', async () => {
    const recipient = await identityToRecipient(identity);
    const keyFile = `# created: 2026-01-01T00:00:00Z\n# public key: ${recipient}\n${identity}\n`;
    expect(parseBackupKey(keyFile)).toEqual({ kind: 'identities', identities: [identity] });
    expect(parseBackupKey(`${recipient}\n`)).toEqual({ kind: 'recipients', recipients: [recipient] });
    expect(parseBackupKey('a-long-random-backup-key-0123456789')).toEqual({
      kind: 'passphrase',
      passphrase: 'a-long-random-backup-key-0123456789',
    });
    await expect(checkBackupKey(parseBackupKey(`${damaged(identity)}`))).rejects.toThrow(
      'has an invalid age identity (key 1; expected AGE-SECRET-KEY-1..., as age-keygen writes it)',
    );
    await expect(checkBackupKey(parseBackupKey(`${recipient}\nage1notarecipient`))).rejects.toThrow(
      'has an invalid age recipient (key 2; expected age1...)',
    );
    expect(() => parseBackupKey(`${identity}\nnot a key`)).toThrow(
      'holds age keys, but line 2 is neither an identity (AGE-SECRET-KEY-1...) nor a recipient (age1...)',
    );
    expect(() => parseBackupKey(`${identity}\n${recipient}`)).toThrow(/mixes identities and recipients/);
    expect(() => parseBackupKey('two lines\nof passphrase')).toThrow(/a passphrase must be one line/);
    await expect(readEncryptionSecret('short', 'encrypt')).rejects.toThrow(/the passphrase given is shorter\.$/);
    await expect(readEncryptionSecret(recipient, 'decrypt')).rejects.toThrow(
      'Input "encryption-key" holds only age recipients (public keys), which cannot decrypt: give the identity (AGE-SECRET-KEY-1...) they belong to.',
    );
    await expect(readEncryptionSecret(`${identity}\n${damaged(identity)}`, 'decrypt')).rejects.toThrow(
      /^Input "encryption-key" has an invalid age identity \(key 2;/,
    );
  });

  describe('the earlier AES-256-GCM format (".enc")', () => {
    const fixture = path.join(
      REPO_ROOT,
      '__tests__',
      'fixtures',
      'backups',
      'aes-gcm-v1',
      'db-backup-production-20250301T040000Z-shop.dump.enc',
    );
    const legacySecret = 'legacy-aes-gcm-backup-key-0123456789';

    it('still decrypts, with the secret it was written with', async () => {
      expect(await isEncryptedBackup(fixture)).toBe(true);
      const plain = await decryptBackup(fixture, secretOf(legacySecret), path.join(dir, 'legacy'));
      expect(path.basename(plain)).toBe('db-backup-production-20250301T040000Z-shop.dump');
      expect(readFileSync(plain).subarray(0, 5).toString('latin1')).toBe('PGDMP');
    });

    it('refuses a wrong secret and a modified file', async () => {
      await expect(
        decryptBackup(fixture, secretOf('not-the-legacy-secret-at-all'), path.join(dir, 'legacy-wrong')),
      ).rejects.toThrow(EncryptionKeyError);
      const damaged = path.join(dir, path.basename(fixture));
      copyFileSync(fixture, damaged);
      const bytes = readFileSync(damaged);
      bytes[1000] ^= 0x01;
      writeFileSync(damaged, bytes);
      await expect(decryptBackup(damaged, secretOf(legacySecret), path.join(dir, 'legacy-damaged'))).rejects.toThrow(
        /failed authentication in segment 0 \(the last one\)/,
      );
    });
  });

  it('refuses what is in neither format', async () => {
    const file = plaintext('not-encrypted', 100);
    await expect(decryptBackup(file, secretOf(identity), path.join(dir, 'none'))).rejects.toThrow(
      /is not an encrypted backup file/,
    );
    expect(await isEncryptedBackup(file)).toBe(false);
  });
});
