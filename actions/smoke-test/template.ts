import { randomBytes, randomUUID } from 'node:crypto';

/**
 * `{{name}}` placeholders in URLs, headers, bodies and expected values. Names are suite variables,
 * values captured by earlier steps of the same flow, `env.NAME` (the step's environment, where
 * workflows put secrets) and a few generators ($uuid, $random, $timestamp) that make each flow
 * attempt use fresh data, so a retried "register" does not collide with its own first try.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_$][A-Za-z0-9_.$-]*)\s*\}\}/g;
export const GENERATORS = ['$uuid', '$random', '$timestamp', '$isoTime'] as const;

export class TemplateError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface TemplateScope {
  /** The value of a variable or env.NAME; undefined when not defined. */
  lookup(name: string): string | undefined;
  /** Names in scope, for the error when a name is missing. */
  names(): string[];
}

export function templateReferences(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1]);
}

export function isGenerator(name: string): boolean {
  return (GENERATORS as readonly string[]).includes(name);
}

export function generate(name: string): string {
  switch (name) {
    case '$uuid':
      return randomUUID();
    case '$random':
      return randomBytes(6).toString('hex');
    case '$timestamp':
      return String(Date.now());
    case '$isoTime':
      return new Date().toISOString();
    default:
      throw new TemplateError(name, `unknown generator {{${name}}}; known: ${GENERATORS.join(', ')}`);
  }
}

/** Replaces every placeholder; `onValue` sees each substituted value (to mask secrets as they are used). */
export function renderTemplate(
  text: string,
  scope: TemplateScope,
  onValue?: (name: string, value: string) => void,
): string {
  return text.replace(PLACEHOLDER, (_whole, name: string) => {
    const value = isGenerator(name) ? generate(name) : scope.lookup(name);
    if (value === undefined) {
      const known = scope.names();
      throw new TemplateError(
        name,
        `{{${name}}} is not defined${known.length ? ` (defined here: ${known.join(', ')})` : ''}`,
      );
    }
    onValue?.(name, value);
    return value;
  });
}

/** Renders every string inside a JSON value (keys stay as written). */
export function renderJson(
  value: unknown,
  scope: TemplateScope,
  onValue?: (name: string, value: string) => void,
): unknown {
  if (typeof value === 'string') return renderTemplate(value, scope, onValue);
  if (Array.isArray(value)) return value.map((item) => renderJson(item, scope, onValue));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderJson(item, scope, onValue)]));
  }
  return value;
}

/** Every placeholder inside a JSON value. */
export function jsonReferences(value: unknown): string[] {
  if (typeof value === 'string') return templateReferences(value);
  if (Array.isArray(value)) return value.flatMap(jsonReferences);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(jsonReferences);
  return [];
}

export class MapScope implements TemplateScope {
  constructor(
    private readonly values: Map<string, string>,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly parent?: TemplateScope,
  ) {}
  lookup(name: string): string | undefined {
    if (name.startsWith('env.')) return this.env[name.slice(4)];
    return this.values.get(name) ?? this.parent?.lookup(name);
  }
  names(): string[] {
    return [...new Set([...this.values.keys(), ...(this.parent?.names() ?? [])])];
  }
}
