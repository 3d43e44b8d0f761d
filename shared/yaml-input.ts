import { parse as parseYaml } from 'yaml';
import { errorMessage, InputError } from './errors.js';
import { readRaw, type BaseOptions, type Read } from './inputs.js';

/**
 * YAML (and therefore JSON, a subset of it). Apart from inputs.ts so that the actions that read no
 * YAML input (backup-db, restore-db) do not compile and evaluate the yaml package, a sixth of their
 * bundle, at every step's start.
 */
export function yamlInput<O extends BaseOptions<unknown>>(name: string, options?: O): Read<unknown, O> {
  const text = readRaw(name, options);
  if (text === undefined) return options?.default as Read<unknown, O>;
  try {
    return parseYaml(text, { prettyErrors: true, strict: true, uniqueKeys: true }) as Read<unknown, O>;
  } catch (error) {
    throw new InputError(name, `must be valid YAML: ${errorMessage(error).split('\n')[0]}`);
  }
}
