import {
  booleanInput,
  durationInput,
  enumInput,
  integerInput,
  jsonInput,
  keyValueInput,
  listInput,
  stringInput,
} from '../../shared/inputs.js';
import { yamlInput } from '../../shared/yaml-input.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';

function withInputs(inputs: Record<string, string>, fn: () => void): void {
  const names = Object.keys(inputs).map((name) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`);
  Object.keys(inputs).forEach((name, index) => (process.env[names[index]] = inputs[name]));
  try {
    fn();
  } finally {
    for (const name of names) delete process.env[name];
  }
}

describe('input readers', () => {
  it('require, default and validate strings', () => {
    expect(() => stringInput('database-url', { required: true })).toThrow(
      'Input "database-url" is required but was not provided.',
    );
    expect(stringInput('label', { default: 'default' })).toBe('default');
    expect(stringInput('label')).toBeUndefined();
    withInputs({ tag: 'v1; rm -rf /' }, () => {
      expect(() => stringInput('tag', { pattern: /^[\w.-]+$/, patternDescription: 'an image tag' })).toThrow(
        'Input "tag" must be an image tag; got "v1; rm -rf /".',
      );
    });
  });

  it('reads enums and names the allowed values', () => {
    withInputs({ format: 'tar' }, () => {
      expect(() => enumInput('format', ['custom', 'directory'] as const)).toThrow(
        'Input "format" must be one of "custom", "directory"; got "tar".',
      );
    });
    withInputs({ format: 'directory' }, () =>
      expect(enumInput('format', ['custom', 'directory'] as const)).toBe('directory'),
    );
  });

  it('reads booleans strictly, like the YAML core schema', () => {
    withInputs({ upload: 'True' }, () => expect(booleanInput('upload')).toBe(true));
    withInputs({ upload: 'FALSE' }, () => expect(booleanInput('upload')).toBe(false));
    withInputs({ upload: 'yes' }, () =>
      expect(() => booleanInput('upload')).toThrow('Input "upload" must be true or false; got "yes".'),
    );
    expect(booleanInput('upload', { default: true })).toBe(true);
  });

  it('reads integers within a range', () => {
    withInputs({ jobs: '4' }, () => expect(integerInput('jobs', { min: 1, max: 32 })).toBe(4));
    withInputs({ jobs: '0' }, () =>
      expect(() => integerInput('jobs', { min: 1 })).toThrow('Input "jobs" must be at least 1; got "0".'),
    );
    withInputs({ jobs: '3.5' }, () =>
      expect(() => integerInput('jobs')).toThrow('Input "jobs" must be a whole number; got "3.5".'),
    );
  });

  it('reads durations in milliseconds', () => {
    withInputs({ timeout: '1m30s' }, () => expect(durationInput('timeout')).toBe(90_000));
    withInputs({ timeout: 'banana' }, () =>
      expect(() => durationInput('timeout')).toThrow(
        'Input "timeout" must be a duration such as 30s, 5m, 1h30m or 250ms; got "banana".',
      ),
    );
    withInputs({ timeout: '10ms' }, () =>
      expect(() => durationInput('timeout', { min: 1000 })).toThrow(
        'Input "timeout" must be at least 1000ms; got "10ms".',
      ),
    );
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('5 m')).toBeUndefined();
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_345)).toBe('12.3s');
    expect(formatDuration(245_000)).toBe('4m05s');
  });

  it('reads JSON and YAML with the parse error', () => {
    withInputs({ plan: '[{"version": "4"}]' }, () => expect(jsonInput('plan')).toEqual([{ version: '4' }]));
    withInputs({ plan: '[{' }, () => expect(() => jsonInput('plan')).toThrow(/^Input "plan" must be valid JSON/));
    withInputs({ suite: 'checks:\n  - url: /health\n' }, () =>
      expect(yamlInput('suite')).toEqual({ checks: [{ url: '/health' }] }),
    );
    withInputs({ suite: 'a: 1\na: 2\n' }, () =>
      expect(() => yamlInput('suite')).toThrow(/^Input "suite" must be valid YAML: .*unique/i),
    );
  });

  it('reads lists and key/value pairs, rejecting unsafe names', () => {
    withInputs({ services: 'api, worker\nweb\n' }, () =>
      expect(listInput('services')).toEqual(['api', 'worker', 'web']),
    );
    withInputs({ services: 'api,$(id)' }, () =>
      expect(() => listInput('services', { itemPattern: /^[\w.-]+$/, itemDescription: 'service names' })).toThrow(
        'Input "services" items must be service names; got "$(id)".',
      ),
    );
    withInputs({ 'env-overrides': 'EXPORT_MODE=off\nA=b=c' }, () =>
      expect(keyValueInput('env-overrides')).toEqual({ EXPORT_MODE: 'off', A: 'b=c' }),
    );
    withInputs({ 'env-overrides': 'BAD-NAME=1' }, () =>
      expect(() => keyValueInput('env-overrides')).toThrow(
        /"BAD-NAME", which is not a valid environment variable name/,
      ),
    );
  });
});
