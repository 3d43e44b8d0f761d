import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Cuts a stream into fixed-size units and transforms each; the last (possibly short) unit is
 * flagged. Both encrypted formats seal a stream in such units (age's STREAM: 64 KiB; the earlier
 * AES-GCM format: 1 MiB), each authenticated with a "last" flag, so a truncation at a unit
 * boundary fails too. Units are cut from the incoming chunks without copying them, except a unit
 * that straddles two chunks: backups are gigabytes.
 */
export class SegmentTransform extends Transform {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private index = 0n;
  constructor(
    private readonly unit: number,
    private readonly transformSegment: (segment: Buffer, index: bigint, last: boolean) => Buffer[],
  ) {
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  private output: Buffer[] = [];

  private pushSegment(segment: Buffer, last: boolean): void {
    this.output.push(...this.transformSegment(segment, this.index++, last));
  }

  /** One push per incoming chunk: a stream operation per 64 KiB unit costs more than the copy. */
  private flushOutput(): void {
    if (this.output.length > 0) this.push(Buffer.concat(this.output));
    this.output = [];
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let offset = 0;
      // Only the end of the stream says which unit is the last: a full unit waits until more data comes.
      if (this.pendingLength > 0) {
        const needed = Math.min(this.unit - this.pendingLength, chunk.length);
        this.pending.push(chunk.subarray(0, needed));
        this.pendingLength += needed;
        offset = needed;
        if (this.pendingLength === this.unit && offset < chunk.length) {
          this.pushSegment(Buffer.concat(this.pending, this.unit), false);
          this.pending = [];
          this.pendingLength = 0;
        }
      }
      while (chunk.length - offset > this.unit) {
        this.pushSegment(chunk.subarray(offset, offset + this.unit), false);
        offset += this.unit;
      }
      if (offset < chunk.length) {
        // Kept beyond this call: a copy, so the reader may reuse its buffer.
        const rest = Buffer.from(chunk.subarray(offset));
        this.pending.push(rest);
        this.pendingLength += rest.length;
      } else {
        this.pending = this.pending.map((piece) => Buffer.from(piece));
      }
      this.flushOutput();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.pushSegment(Buffer.concat(this.pending, this.pendingLength), true);
      this.flushOutput();
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
