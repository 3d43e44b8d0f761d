/** golang-migrate's advisory lock id derivation (database/util.go GenerateAdvisoryLockId); lock.ts says why we use it. */

const ADVISORY_LOCK_SALT = 1486364155;

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** golang-migrate's GenerateAdvisoryLockId: a uint32, as a decimal string (it is passed to pg_advisory_lock as a bigint). */
export function golangMigrateLockId(databaseName: string, ...additionalNames: string[]): string {
  const text = [databaseName, ...additionalNames].join('\0');
  const sum = crc32(new TextEncoder().encode(text));
  // Go multiplies two uint32s and keeps the low 32 bits.
  return String((BigInt(sum) * BigInt(ADVISORY_LOCK_SALT)) & 0xffffffffn);
}
