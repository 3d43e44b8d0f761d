import { maskValue, redactUrl } from '../../shared/secrets.js';

/**
 * Keeps secrets out of everything this action writes. The runner's masking (add-mask) only covers
 * the log it renders; the JUnit file, outputs and summary are files this action writes itself, and
 * a raw log line can still reach other places. So every text leaves through redact(), which replaces
 * each known secret, in every form it may appear, with ***.
 */
/** Query parameters whose values are credentials: tokens, keys, signatures, passwords, sessions. */
export const SECRET_QUERY_PARAMETER =
  /token|secret|passw(or)?d|pwd|api[-_]?key|^key$|^auth|signature|^sig$|credential|session|jwt|^code$/i;

export class Redactor {
  private readonly secrets = new Set<string>();
  private sorted: string[] = [];

  /**
   * Registers a secret (and registers it with the runner). Derived values shorter than `minLength`
   * are skipped: masking "42" would blank every 42 in the log and protect nothing.
   */
  add(secret: string | undefined, minLength = 1): void {
    if (!secret || secret.length < minLength) return;
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      if (form.length === 0 || this.secrets.has(form)) continue;
      this.secrets.add(form);
      maskValue(form);
    }
    this.sorted = [...this.secrets].sort((a, b) => b.length - a.length);
  }

  /** A credential header value: the whole value, and the credentials after an auth scheme. */
  addHeaderValue(value: string): void {
    this.add(value);
    const match = /^(?:Bearer|Basic|Token|Digest|ApiKey|Key)\s+(.+)$/i.exec(value.trim());
    if (match) {
      this.add(match[1], 4);
      if (/^basic$/i.test(value.trim().split(/\s+/)[0])) {
        const decoded = Buffer.from(match[1], 'base64').toString('utf8');
        const password = decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : '';
        this.add(decoded, 4);
        this.add(password, 4);
      }
    }
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.sorted) if (result.includes(secret)) result = result.split(secret).join('***');
    return result;
  }

  /**
   * Registers the password (and user info) of a URL such as https://user:pass@host/, and the values
   * of query parameters named like credentials (?token=, ?api_key=, ?sig=...).
   */
  addUrlCredentials(url: string | undefined): void {
    if (!url) return;
    try {
      const parsed = new URL(url);
      if (parsed.password) {
        this.add(parsed.password);
        this.add(decodeURIComponent(parsed.password));
        // Node sends URL credentials as Basic auth; a server echoing that header must not leak them either.
        this.add(
          Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString(
            'base64',
          ),
        );
      }
      for (const [name, value] of parsed.searchParams) if (SECRET_QUERY_PARAMETER.test(name)) this.add(value, 4);
    } catch {
      // Not a URL (yet: it may hold {{placeholders}}); nothing to register.
    }
  }

  /** A URL fit to show: credentials in it replaced, then known secrets. */
  url(url: string): string {
    // Only rewritten when it holds credentials: new URL() would otherwise "normalize" what the user wrote.
    return this.redact(
      /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(url) || /[?&]password=/i.test(url) ? redactUrl(url) : url,
    );
  }

  /** Deep-redacts every string in a JSON value (outputs, events). */
  json<T>(value: T): T {
    return JSON.parse(this.redact(JSON.stringify(value))) as T;
  }
}
