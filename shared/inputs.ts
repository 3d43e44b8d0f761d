import * as core from '@actions/core';
import { parseDuration } from './duration.js';
import { InputError, errorMessage } from './errors.js';

/**
 * Typed, validated input readers. Every error names the input and quotes the bad value, because the
 * person reading it is usually looking at a workflow file at 3 a.m., not at this code.
 */

export interface BaseOptions<T> {
  required?: boolean;
  default?: T;
}
export type Read<T, O> = O extends { required: true } ? T : O extends { default: T } ? T : T | undefined;

/** The raw, trimmed input text; '' when not given (the runner passes unset inputs as empty). */
export function rawInput(name: string): string {
  return core.getInput(name);
}

export function readRaw<T>(name: string, options: BaseOptions<T> | undefined): string | undefined {
  const text = rawInput(name);
  if (text !== '') return text;
  if (options?.required && options.default === undefined)
    throw new InputError(name, 'is required but was not provided.');
  return undefined;
}

/** Shows a value in an error message without flooding the log with a whole file. */
export function quote(value: string): string {
  const oneLine = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(oneLine);
}

export interface StringOptions extends BaseOptions<string> {
  /** The value must match this pattern... */
  pattern?: RegExp;
  /** ...described to the user this way, e.g. "a semver tag such as v1.2.3". */
  patternDescription?: string;
}

export function stringInput<O extends StringOptions>(name: string, options?: O): Read<string, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<string, O>;
  if (options?.pattern && !options.pattern.test(text)) {
    throw new InputError(
      name,
      `must be ${options.patternDescription ?? `a value matching ${options.pattern}`}; got ${quote(text)}.`,
    );
  }
  return text as Read<string, O>;
}

/** A secret: masked in logs before anything else can print it. */
export function secretInput<O extends BaseOptions<string>>(name: string, options?: O): Read<string, O> {
  const text = readRaw(name, options);
  if (text !== undefined) core.setSecret(text);
  return (text ?? options?.default) as Read<string, O>;
}

export function enumInput<T extends string, O extends BaseOptions<T>>(
  name: string,
  allowed: readonly T[],
  options?: O,
): Read<T, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<T, O>;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new InputError(
      name,
      `must be one of ${allowed.map((value) => `"${value}"`).join(', ')}; got ${quote(text)}.`,
    );
  }
  return text as T as Read<T, O>;
}

const TRUE_WORDS = ['true', 'True', 'TRUE'];
const FALSE_WORDS = ['false', 'False', 'FALSE'];

/** Accepts exactly what the YAML 1.2 core schema calls a boolean, like core.getBooleanInput. */
export function booleanInput<O extends BaseOptions<boolean>>(name: string, options?: O): Read<boolean, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<boolean, O>;
  if (TRUE_WORDS.includes(text)) return true as Read<boolean, O>;
  if (FALSE_WORDS.includes(text)) return false as Read<boolean, O>;
  throw new InputError(name, `must be true or false; got ${quote(text)}.`);
}

export interface RangeOptions<T> extends BaseOptions<T> {
  min?: number;
  max?: number;
}

function checkRange(name: string, value: number, text: string, options: RangeOptions<unknown> | undefined): void {
  if (options?.min !== undefined && value < options.min) {
    throw new InputError(name, `must be at least ${options.min}; got ${quote(text)}.`);
  }
  if (options?.max !== undefined && value > options.max) {
    throw new InputError(name, `must be at most ${options.max}; got ${quote(text)}.`);
  }
}

export function integerInput<O extends RangeOptions<number>>(name: string, options?: O): Read<number, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<number, O>;
  if (!/^-?\d+$/.test(text)) throw new InputError(name, `must be a whole number; got ${quote(text)}.`);
  const value = Number(text);
  checkRange(name, value, text, options);
  return value as Read<number, O>;
}

/**
 * A duration such as "30s", "5m", "1h30m", "250ms" or a number of seconds, returned in milliseconds.
 * `default`, `min` and `max` are in milliseconds too.
 */
export function durationInput<O extends RangeOptions<number>>(name: string, options?: O): Read<number, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<number, O>;
  const value = parseDuration(text);
  if (value === undefined) {
    throw new InputError(name, `must be a duration such as 30s, 5m, 1h30m or 250ms; got ${quote(text)}.`);
  }
  if (options?.min !== undefined && value < options.min) {
    throw new InputError(name, `must be at least ${options.min}ms; got ${quote(text)}.`);
  }
  if (options?.max !== undefined && value > options.max) {
    throw new InputError(name, `must be at most ${options.max}ms; got ${quote(text)}.`);
  }
  return value as Read<number, O>;
}

export function jsonInput<O extends BaseOptions<unknown>>(name: string, options?: O): Read<unknown, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<unknown, O>;
  try {
    return JSON.parse(text) as Read<unknown, O>;
  } catch (error) {
    throw new InputError(name, `must be valid JSON (${errorMessage(error)}); got ${quote(text)}.`);
  }
}

/** A list given one item per line or comma-separated; empty items dropped. */
export function listInput(
  name: string,
  options?: { required?: boolean; itemPattern?: RegExp; itemDescription?: string },
): string[] {
  const text = readRaw(name, options);
  if (text === undefined) return [];
  const items = text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (options?.required && items.length === 0) throw new InputError(name, 'is required but lists nothing.');
  for (const item of items) {
    if (options?.itemPattern && !options.itemPattern.test(item)) {
      throw new InputError(
        name,
        `items must be ${options.itemDescription ?? `values matching ${options.itemPattern}`}; got ${quote(item)}.`,
      );
    }
  }
  return items;
}

// Switch words cannot be secrets, and masking "off" would blank that text across the whole job log.
const SWITCH_WORD = /^(true|false|on|off|yes|no|enabled|disabled|[01])$/i;

/**
 * KEY=VALUE pairs, one per line (or a YAML/JSON mapping). Keys must be environment-variable names so
 * nothing a workflow passes can smuggle a shell construct into a variable name. With `maskValues`,
 * every value but a switch word (true, off, 1...) is masked: environment is where tokens are passed.
 */
export function keyValueInput(name: string, options?: { maskValues?: boolean }): Record<string, string> {
  const text = readRaw(name, undefined);
  if (text === undefined) return {};
  const pairs: Record<string, string> = {};
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const parsed = jsonInput(name);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InputError(name, 'must be a mapping of NAME to value.');
    }
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) pairs[key] = String(value);
  } else {
    for (const line of trimmed.split('\n')) {
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      const separator = line.indexOf('=');
      if (separator <= 0) throw new InputError(name, `lines must look like NAME=value; got ${quote(line.trim())}.`);
      pairs[line.slice(0, separator).trim()] = line.slice(separator + 1).trim();
    }
  }
  for (const key of Object.keys(pairs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new InputError(name, `has ${quote(key)}, which is not a valid environment variable name.`);
    }
  }
  if (options?.maskValues) {
    for (const value of Object.values(pairs)) if (value !== '' && !SWITCH_WORD.test(value)) core.setSecret(value);
  }
  return pairs;
}

/** An http(s) URL. `allowRelative` accepts a path to be resolved against a base URL later. */
export function urlInput<O extends BaseOptions<string> & { allowRelative?: boolean }>(
  name: string,
  options?: O,
): Read<string, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<string, O>;
  if (options?.allowRelative && text.startsWith('/')) return text as Read<string, O>;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InputError(
      name,
      `must be an http:// or https:// URL${options?.allowRelative ? ' or a path starting with /' : ''}; got ${quote(text)}.`,
    );
  }
  return text as Read<string, O>;
}
