import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Cuts a stream into fixed-size units and transforms each; the last (possibly short) unit is
 * flagged. Both encrypted formats seal a stream in such units (age's STREAM: 64 KiB; the earlier
 * AES-GCM format: 1 MiB), each authenticated with a "last" flag, so a truncation at a unit
 * boundary fails too.
 */
export class SegmentTransform extends Transform {
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

/** The 12-byte nonce both formats use: a big-endian segment counter, then 1 for the last segment. */
export function segmentNonce(index: bigint, last: boolean): Buffer {
  const value = Buffer.alloc(12);
  value.writeBigUInt64BE(index, 3);
  value[11] = last ? 1 : 0;
  return value;
}

/** The first `length` bytes of a file (fewer when it is shorter). */
export async function readHead(file: string, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
