import * as core from '@actions/core';

export type OutputValue = string | number | boolean | null | undefined | object;

/**
 * Writes step outputs. Objects and arrays are written as JSON so `fromJSON()` works in workflows;
 * undefined/null become '' so a consumer can test `!= ''` instead of guessing "null" or "undefined".
 */
export function setOutputs(outputs: Record<string, OutputValue>): void {
  for (const [name, value] of Object.entries(outputs)) {
    core.setOutput(name, serializeOutput(value));
  }
}

export function serializeOutput(value: OutputValue): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
