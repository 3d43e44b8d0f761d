import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HS256 JSON Web Tokens, the shape of the runner's ACTIONS_RUNTIME_TOKEN. The client only decodes
 * it (jwt-decode) to read the `scp` claim; the stand-in signs it and checks the signature on every
 * call, as the real results service does.
 */
export interface RuntimeClaims {
  scp: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export function signJwt(claims: RuntimeClaims, secret: Buffer): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The claims of a valid, unexpired token signed with `secret`; undefined otherwise. */
export function verifyJwt(token: string, secret: Buffer, now = Date.now()): RuntimeClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as RuntimeClaims;
    if (typeof claims.exp === 'number' && claims.exp * 1000 < now) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
