import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sameVersion } from '../../actions/smoke-test/assertions.js';
import { Redactor } from '../../actions/smoke-test/redact.js';
import { backoffDelay } from '../../actions/smoke-test/runner.js';
import { parseSuite } from '../../actions/smoke-test/suite-load.js';
import { suiteSchema } from '../../actions/smoke-test/suite-schema.js';
import { xmlEscape } from '../../actions/smoke-test/report.js';
import { MapScope, renderTemplate, TemplateError } from '../../actions/smoke-test/template.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';

describe('backoff', () => {
  it('doubles from the base up to the cap, with jitter between half and all of each step', () => {
    expect([1, 2, 3, 4, 5, 6].map((failures) => backoffDelay(failures, 250, 3000, () => 1))).toEqual([
      250, 500, 1000, 2000, 3000, 3000,
    ]);
    expect([1, 2, 3, 4].map((failures) => backoffDelay(failures, 250, 3000, () => 0))).toEqual([125, 250, 500, 1000]);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(3, 250, 3000)));
    expect(spread.size).toBeGreaterThan(10);
    for (const delay of spread) expect(delay >= 500 && delay <= 1000).toBe(true);
  });
});

describe('templates', () => {
  const scope = new MapScope(new Map([['token', 'abc']]), { HOST: 'example.com' });
  it('renders variables, env and generators, and names what is missing', () => {
    expect(renderTemplate('https://{{env.HOST}}/me?t={{ token }}', scope)).toBe('https://example.com/me?t=abc');
    expect(renderTemplate('{{$uuid}}', scope)).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => renderTemplate('{{tokn}}', scope)).toThrow(TemplateError);
    expect(() => renderTemplate('{{tokn}}', scope)).toThrow('{{tokn}} is not defined (defined here: token)');
  });
});

describe('redaction', () => {
  it('replaces a secret in every form and the credentials of auth headers', () => {
    const redactor = new Redactor();
    redactor.addHeaderValue('Basic ' + Buffer.from('user:s3cr3t-pass').toString('base64'));
    redactor.addHeaderValue('Bearer tok/en+1');
    expect(redactor.redact('pass s3cr3t-pass, token tok/en+1, encoded tok%2Fen%2B1')).toBe(
      'pass ***, token ***, encoded ***',
    );
    redactor.add('ab', 4);
    expect(redactor.redact('ab')).toBe('ab');
  });
});

describe('versions and XML', () => {
  it('treats v1.2.0 and 1.2.0 as the same release, and nothing else', () => {
    expect(sameVersion('v1.2.0', '1.2.0')).toBe(true);
    expect(sameVersion('1.2.0', 'v1.2.0')).toBe(true);
    expect(sameVersion('v1.2.0', 'v1.2.1')).toBe(false);
    expect(sameVersion('v1.2.0', 'v1.2')).toBe(false);
  });

  it('escapes markup and drops characters XML cannot hold', () => {
    expect(xmlEscape('<a href="x">&\u0001\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;\uFFFD&apos;&lt;/a&gt;');
  });
});

describe('the demo app smoke suite fixture', () => {
  it('is valid against the schema', () => {
    const file = path.join(REPO_ROOT, 'testkit', 'fixtures', 'demo-app', 'smoke-suite.yml');
    const parsed = parseSuite({ text: readFileSync(file, 'utf8'), displayName: 'smoke-suite.yml', file });
    expect(parsed.suite.checks.map((check) => check.name)).toEqual([
      'health',
      'readiness',
      'internal health',
      'auth flow',
      'project lifecycle',
    ]);
  });
});

describe('suite.schema.json', () => {
  it('is the schema the action validates with, for editors (yaml-language-server) to use', () => {
    // Regenerate: npx tsx -e "import('./actions/smoke-test/suite-schema.ts').then(m => require('fs').writeFileSync('actions/smoke-test/suite.schema.json', JSON.stringify(m.suiteSchema, null, 2) + '\n'))"
    const committed = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'actions', 'smoke-test', 'suite.schema.json'), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(suiteSchema)));
  });
});
