import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The part of Azure Blob Storage the artifact client talks to, behind SAS-signed URLs the way
 * Azurite serves them (http://127.0.0.1:<port>/<account>/<container>/<blob>): Put Block and Put
 * Block List (what BlockBlobClient.uploadStream sends), a single-shot Put Blob, and Get Blob (ranged too).
 * Blobs are kept on disk so a benchmark can push a real dump through it.
 */
export const ACCOUNT = 'devstoreaccount1';
const API_VERSION = '2025-05-05';

export interface BlobRequestLog {
  method: string;
  operation: 'put-block' | 'put-block-list' | 'put-blob' | 'get-blob' | 'rejected';
  blob: string;
  bytes: number;
  status: number;
}

interface StoredBlob {
  file: string;
  size: number;
  contentType: string;
}

function xmlError(response: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`;
  response.writeHead(status, {
    'content-type': 'application/xml',
    'x-ms-error-code': code,
    'x-ms-version': API_VERSION,
    'x-ms-request-id': randomUUID(),
  });
  response.end(body);
}

function okHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-ms-request-id': randomUUID(), 'x-ms-version': API_VERSION, date: new Date().toUTCString(), ...extra };
}

export class BlobStorage {
  private readonly blobs = new Map<string, StoredBlob>();
  /** Staged (uncommitted) blocks per blob: block id -> file. */
  private readonly staged = new Map<string, Map<string, string>>();
  readonly log: BlobRequestLog[] = [];

  constructor(
    private readonly dir: string,
    private readonly secret: Buffer,
    private readonly baseUrl: () => string,
  ) {
    mkdirSync(path.join(dir, 'blocks'), { recursive: true });
    mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  }

  /**
   * A SAS URL for `blob` ("container/path"): `sp` "cw" to upload, "r" to read; `rscd`/`rsct`
   * override the response's Content-Disposition and Content-Type, as GitHub's download URLs do.
   */
  signedUrl(
    blob: string,
    permissions: 'cw' | 'r',
    ttlMs: number,
    overrides: { rscd?: string; rsct?: string } = {},
  ): string {
    const query = new URLSearchParams({
      sv: API_VERSION,
      sr: 'b',
      sp: permissions,
      se: new Date(Date.now() + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    if (overrides.rscd) query.set('rscd', overrides.rscd);
    if (overrides.rsct) query.set('rsct', overrides.rsct);
    query.set('sig', this.signature(blob, query));
    return `${this.baseUrl()}/${ACCOUNT}/${blob}?${query}`;
  }

  private signature(blob: string, query: URLSearchParams): string {
    const signed = [
      query.get('sp'),
      query.get('se'),
      `/${ACCOUNT}/${blob}`,
      query.get('rscd') ?? '',
      query.get('rsct') ?? '',
    ].join('\n');
    return createHmac('sha256', this.secret).update(signed).digest('base64');
  }

  size(blob: string): number | undefined {
    return this.blobs.get(blob)?.size;
  }

  filePath(blob: string): string | undefined {
    return this.blobs.get(blob)?.file;
  }

  sha256(blob: string): string | undefined {
    const stored = this.blobs.get(blob);
    if (!stored) return undefined;
    return createHash('sha256').update(readFileSync(stored.file)).digest('hex');
  }

  remove(blob: string): void {
    const stored = this.blobs.get(blob);
    if (stored) rmSync(stored.file, { force: true });
    this.blobs.delete(blob);
  }

  /** A blob written in full (by Put Blob or Put Block List): kept, logged, and answered 201 as Azure does. */
  private stored(
    blob: string,
    file: string,
    operation: 'put-blob' | 'put-block-list',
    request: IncomingMessage,
    response: ServerResponse,
  ): true {
    const size = statSync(file).size;
    this.blobs.set(blob, {
      file,
      size,
      contentType: String(request.headers['x-ms-blob-content-type'] ?? 'application/octet-stream'),
    });
    this.log.push({ method: 'PUT', operation, blob, bytes: size, status: 201 });
    response.writeHead(
      201,
      okHeaders({
        etag: `"0x${Date.now().toString(16).toUpperCase()}"`,
        'last-modified': new Date().toUTCString(),
        'x-ms-request-server-encrypted': 'true',
        'content-length': '0',
      }),
    );
    response.end();
    return true;
  }

  /** Handles a request whose path starts with /<account>/; false when it is not a blob request. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (!url.pathname.startsWith(`/${ACCOUNT}/`)) return false;
    const blob = decodeURIComponent(url.pathname.slice(ACCOUNT.length + 2));
    const method = request.method ?? 'GET';
    const reject = async (status: number, code: string, message: string): Promise<true> => {
      request.resume();
      this.log.push({ method, operation: 'rejected', blob, bytes: 0, status });
      xmlError(response, status, code, message);
      return true;
    };

    const query = url.searchParams;
    const sig = query.get('sig');
    const expected = this.signature(blob, query);
    if (!sig || sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) {
      return reject(
        403,
        'AuthenticationFailed',
        'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
      );
    }
    if (Date.parse(query.get('se') ?? '') < Date.now()) {
      return reject(403, 'AuthenticationFailed', 'Signed expiry time has to be after signed start time.');
    }
    const permissions = query.get('sp') ?? '';

    if (method === 'GET' || method === 'HEAD') {
      if (!permissions.includes('r'))
        return reject(
          403,
          'AuthorizationPermissionMismatch',
          'This request is not authorized to perform this operation using this permission.',
        );
      const stored = this.blobs.get(blob);
      if (!stored) return reject(404, 'BlobNotFound', 'The specified blob does not exist.');
      const headers = okHeaders({
        'content-length': String(stored.size),
        'content-type': query.get('rsct') ?? stored.contentType,
        'x-ms-blob-type': 'BlockBlob',
        'last-modified': new Date().toUTCString(),
        'accept-ranges': 'bytes',
      });
      const disposition = query.get('rscd');
      if (disposition) headers['content-disposition'] = disposition;
      // Ranged reads as Azure serves them: "bytes=start-end" or "bytes=start-" only (no suffix ranges).
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = Math.min(stored.size - 1, range[2] === '' ? stored.size - 1 : Number(range[2]));
        if (start > end)
          return reject(416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
        headers['content-length'] = String(end - start + 1);
        headers['content-range'] = `bytes ${start}-${end}/${stored.size}`;
        this.log.push({ method, operation: 'get-blob', blob, bytes: end - start + 1, status: 206 });
        response.writeHead(206, headers);
        if (method === 'HEAD') response.end();
        else await pipeline(createReadStream(stored.file, { start, end }), response);
        return true;
      }
      this.log.push({ method, operation: 'get-blob', blob, bytes: stored.size, status: 200 });
      response.writeHead(200, headers);
      if (method === 'HEAD') response.end();
      else await pipeline(createReadStream(stored.file), response);
      return true;
    }

    if (method !== 'PUT')
      return reject(405, 'UnsupportedHttpVerb', "The resource doesn't support the specified HTTP verb.");
    if (!permissions.includes('w'))
      return reject(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      );
    const key = createHash('sha1').update(blob).digest('hex');
    const comp = query.get('comp');

    if (comp === 'block') {
      const blockId = query.get('blockid');
      if (!blockId)
        return reject(
          400,
          'InvalidQueryParameterValue',
          'Value for one of the query parameters specified in the request URI is invalid: blockid.',
        );
      const blockDir = path.join(this.dir, 'blocks', key);
      mkdirSync(blockDir, { recursive: true });
      const file = path.join(blockDir, Buffer.from(blockId, 'base64').toString('hex') || 'empty');
      await pipeline(request, createWriteStream(file));
      const bytes = statSync(file).size;
      const declared = Number(request.headers['content-length'] ?? bytes);
      if (declared !== bytes)
        return reject(
          400,
          'InvalidHeaderValue',
          `Content-Length ${declared} does not match the ${bytes} bytes received.`,
        );
      if (!this.staged.has(blob)) this.staged.set(blob, new Map());
      this.staged.get(blob)!.set(blockId, file);
      this.log.push({ method, operation: 'put-block', blob, bytes, status: 201 });
      response.writeHead(201, okHeaders({ 'x-ms-request-server-encrypted': 'true', 'content-length': '0' }));
      response.end();
      return true;
    }

    if (comp === 'blocklist') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const xml = Buffer.concat(chunks).toString('utf8');
      const ids = [...xml.matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)].map((match) => match[2].trim());
      const staged = this.staged.get(blob) ?? new Map<string, string>();
      const missing = ids.filter((id) => !staged.has(id));
      if (missing.length > 0)
        return reject(
          400,
          'InvalidBlockList',
          `The specified block list is invalid: ${missing.length} block(s) were never staged.`,
        );
      const target = path.join(this.dir, 'blobs', `${key}.blob`);
      writeFileSync(target, '');
      for (const id of ids) appendFileSync(target, readFileSync(staged.get(id)!));
      rmSync(path.join(this.dir, 'blocks', key), { recursive: true, force: true });
      this.staged.delete(blob);
      return this.stored(blob, target, 'put-block-list', request, response);
    }

    if (comp === null) {
      if (request.headers['x-ms-blob-type'] !== 'BlockBlob')
        return reject(
          400,
          'MissingRequiredHeader',
          "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.",
        );
      const target = path.join(this.dir, 'blobs', `${key}.blob`);
      await pipeline(request, createWriteStream(target));
      return this.stored(blob, target, 'put-blob', request, response);
    }

    return reject(
      400,
      'InvalidQueryParameterValue',
      `Value for one of the query parameters specified in the request URI is invalid: comp=${comp}.`,
    );
  }
}
