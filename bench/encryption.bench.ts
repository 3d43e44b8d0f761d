import { Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptBackup, encryptFile, parseBackupKey } from '../shared/backup/encryption.js';
import { runProcess } from '../shared/process.js';
import { median, type Benchmark } from './types.js';

const SIZE_MIB = 128;

/**
 * Backup encryption in the age format against the bare `age` CLI (Go) on the same file, both ways,
 * in CPU time, median of 3; and, for the record, the age-encryption package's own pure-JavaScript
 * payload cipher, which is why the payload is streamed with Node's native ChaCha20-Poly1305.
 */
const benchmark: Benchmark = {
  name: 'encryption',
  description: `age encryption of a ${SIZE_MIB} MiB backup file: backup-db's against the age CLI, CPU time, median of 3`,
  async run() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-encryption-'));
    try {
      const plain = path.join(dir, 'backup.dump');
      writeFileSync(plain, randomBytes(SIZE_MIB * 1024 * 1024));
      const identity = await generateIdentity();
      const recipient = await identityToRecipient(identity);
      writeFileSync(path.join(dir, 'key.txt'), `${identity}\n`);
      const key = parseBackupKey(identity);
      const rate = (ms: number) => SIZE_MIB / (ms / 1000);

      // CPU time, not wall time: on a shared machine the ratio of work done is what stays put.
      const cliCpu = async (args: string[]) => {
        const { stdout } = await runProcess('bash', ['-c', 'age "$@" >/dev/null && times', 'bash', ...args]);
        const [user, system] = stdout
          .trim()
          .split('\n')
          .at(-1)!
          .split(' ')
          .map((field) => {
            const [minutes, seconds] = field.replace(/s$/, '').split('m');
            return Number(minutes) * 60_000 + Number(seconds) * 1000;
          });
        return user + system;
      };
      const ownCpu = async (fn: () => Promise<unknown>) => {
        const before = process.cpuUsage();
        await fn();
        const used = process.cpuUsage(before);
        return (used.user + used.system) / 1000;
      };
      const times = { ours: [] as number[], age: [] as number[], oursOpen: [] as number[], ageOpen: [] as number[] };
      for (let i = 0; i < 3; i++) {
        times.age.push(await cliCpu(['-r', recipient, '-o', path.join(dir, 'cli.age'), plain]));
        times.ours.push(await ownCpu(() => encryptFile(plain, path.join(dir, 'ours.age'), key)));
        times.ageOpen.push(
          await cliCpu([
            '-d',
            '-i',
            path.join(dir, 'key.txt'),
            '-o',
            path.join(dir, 'cli.out'),
            path.join(dir, 'ours.age'),
          ]),
        );
        times.oursOpen.push(
          await ownCpu(() =>
            decryptBackup(path.join(dir, 'ours.age'), { value: identity, key }, path.join(dir, `out-${i}`)),
          ),
        );
      }
      const [ours, age, oursOpen, ageOpen] = [times.ours, times.age, times.oursOpen, times.ageOpen].map(median);

      // The package alone, streaming (a quarter of the file: it is slow).
      const quarter = path.join(dir, 'quarter.dump');
      writeFileSync(quarter, randomBytes((SIZE_MIB / 4) * 1024 * 1024));
      const encrypter = new Encrypter();
      encrypter.addRecipient(recipient);
      const packageOnly = await ownCpu(async () => {
        const sealed = await encrypter.encrypt(Readable.toWeb(createReadStream(quarter)) as ReadableStream<Uint8Array>);
        await pipeline(
          Readable.fromWeb(sealed as import('node:stream/web').ReadableStream<Uint8Array>),
          createWriteStream(path.join(dir, 'package.age')),
        );
      });

      return {
        metrics: [
          { name: 'encrypt, backup-db', value: rate(ours), unit: 'MiB per CPU second' },
          { name: 'encrypt, age CLI', value: rate(age), unit: 'MiB per CPU second' },
          { name: 'decrypt, restore-db', value: rate(oursOpen), unit: 'MiB per CPU second' },
          { name: 'decrypt, age CLI', value: rate(ageOpen), unit: 'MiB per CPU second' },
          {
            name: 'encrypt, age-encryption package alone',
            value: SIZE_MIB / 4 / (packageOnly / 1000),
            unit: 'MiB per CPU second',
          },
        ],
        targets: [
          {
            description: 'encrypting costs at most 5x the CPU time of the age CLI',
            met: ours <= 5 * age,
            actual: `${(ours / age).toFixed(2)}x`,
          },
          {
            description: 'decrypting costs at most 5x the CPU time of the age CLI',
            met: oursOpen <= 5 * ageOpen,
            actual: `${(oursOpen / ageOpen).toFixed(2)}x`,
          },
        ],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default benchmark;
