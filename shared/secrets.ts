import * as core from '@actions/core';

/**
 * Registers every form of a connection URL's password with the runner's masker, before the URL (or
 * an error quoting it) can reach the log: as written, percent-decoded and percent-encoded.
 */
export function maskUrlCredentials(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not parseable: the caller reports the bad URL; mask the part that looks like a password anyway.
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@/]*)@/i.exec(url);
    if (match?.[1]) maskValue(match[1]);
    return;
  }
  if (parsed.password) {
    maskValue(parsed.password);
    maskValue(safeDecode(parsed.password));
  }
  const passwordParam = parsed.searchParams.get('password');
  if (passwordParam) maskValue(passwordParam);
}

export function maskValue(secret: string | undefined): void {
  if (secret && secret.length > 0) core.setSecret(secret);
}

/** The URL with any password replaced by ***, safe to show in logs, outputs and summaries. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
