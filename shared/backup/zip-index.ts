import { inflateRawSync } from 'node:zlib';

/**
 * Reads a zip archive's table of contents and single small entries through ranged reads, without
 * the rest of the archive: how a backup artifact's metadata is read from storage without
 * downloading a dump of many gigabytes. ZIP64 (archives or entries over 4 GiB, as @actions/artifact
 * writes them) included; the layout is PKWARE's APPNOTE 4.3.
 */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Reads bytes [start, end) of the archive. */
export type RangeReader = (start: number, end: number) => Promise<Buffer>;

const EOCD = 0x06054b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const STORED = 0;
const DEFLATED = 8;

export class ZipFormatError extends Error {}

function need(condition: boolean, what: string): void {
  if (!condition) throw new ZipFormatError(`not a readable zip archive: ${what}`);
}

/** Every entry of the archive of `size` bytes, from its central directory. */
export async function readZipIndex(read: RangeReader, size: number): Promise<ZipEntry[]> {
  const tailStart = Math.max(0, size - (EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE));
  const tail = await read(tailStart, size);
  let at = -1;
  for (let index = tail.length - EOCD_SIZE; index >= 0; index--) {
    if (tail.readUInt32LE(index) === EOCD) {
      at = index;
      break;
    }
  }
  need(at >= 0, 'no end of central directory record');
  let entries = tail.readUInt16LE(at + 10);
  let directorySize = tail.readUInt32LE(at + 12);
  let directoryOffset = tail.readUInt32LE(at + 16);
  if (entries === U16_MAX || directorySize === U32_MAX || directoryOffset === U32_MAX) {
    const locator = at - ZIP64_LOCATOR_SIZE;
    need(locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR, 'a ZIP64 archive without its locator');
    const recordOffset = Number(tail.readBigUInt64LE(locator + 8));
    const record = await read(recordOffset, recordOffset + 56);
    need(record.readUInt32LE(0) === ZIP64_EOCD, 'no ZIP64 end of central directory record');
    entries = Number(record.readBigUInt64LE(32));
    directorySize = Number(record.readBigUInt64LE(40));
    directoryOffset = Number(record.readBigUInt64LE(48));
  }
  need(directoryOffset + directorySize <= size, 'the central directory lies beyond the end');
  const directory = await read(directoryOffset, directoryOffset + directorySize);
  const list: ZipEntry[] = [];
  let offset = 0;
  for (let count = 0; count < entries; count++) {
    need(
      offset + 46 <= directory.length && directory.readUInt32LE(offset) === CENTRAL_ENTRY,
      `central directory entry ${count} is damaged`,
    );
    const nameLength = directory.readUInt16LE(offset + 28);
    const extraLength = directory.readUInt16LE(offset + 30);
    const commentLength = directory.readUInt16LE(offset + 32);
    const entry: ZipEntry = {
      name: directory.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'),
      method: directory.readUInt16LE(offset + 10),
      compressedSize: directory.readUInt32LE(offset + 20),
      size: directory.readUInt32LE(offset + 24),
      localHeaderOffset: directory.readUInt32LE(offset + 42),
    };
    applyZip64Extra(entry, directory.subarray(offset + 46 + nameLength, offset + 46 + nameLength + extraLength));
    list.push(entry);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return list;
}

/** Sizes and offset of 0xFFFFFFFF are in the ZIP64 extra field (id 1), in this order, when so marked. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 1) {
      let field = at + 4;
      const next = () => {
        const value = Number(extra.readBigUInt64LE(field));
        field += 8;
        return value;
      };
      if (entry.size === U32_MAX) entry.size = next();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = next();
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + length;
  }
}

/** The content of one (small) entry. */
export async function readZipEntry(read: RangeReader, entry: ZipEntry, archiveSize: number): Promise<Buffer> {
  need(entry.method === STORED || entry.method === DEFLATED, `${entry.name} uses compression method ${entry.method}`);
  // The local header's own extra field may differ from the central one: read enough for both.
  const end = Math.min(archiveSize, entry.localHeaderOffset + LOCAL_HEADER_SIZE + 2 * U16_MAX + entry.compressedSize);
  const bytes = await read(entry.localHeaderOffset, end);
  need(bytes.readUInt32LE(0) === LOCAL_HEADER, `the local header of ${entry.name} is damaged`);
  const start = LOCAL_HEADER_SIZE + bytes.readUInt16LE(26) + bytes.readUInt16LE(28);
  need(start + entry.compressedSize <= bytes.length, `${entry.name} is cut short`);
  const data = bytes.subarray(start, start + entry.compressedSize);
  return entry.method === STORED ? Buffer.from(data) : inflateRawSync(data);
}
