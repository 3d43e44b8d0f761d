import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAction } from '../../testkit/action-harness.js';
import { startServer, type TestServer } from './support/servers.js';

/**
 * A bad suite fails before any request, with file, line and field. A server that counts requests
 * proves "before any request".
 */
function workspaceWith(file: string, text: string): string {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'smoke-suite-ws-'));
  mkdirSync(path.dirname(path.join(workspace, file)), { recursive: true });
  writeFileSync(path.join(workspace, file), text);
  return workspace;
}

describe('smoke-test suite validation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer((_request, response) => response.end('{}'));
  });
  afterAll(() => server.close());

  async function runSuite(text: string, extra: Record<string, string> = {}) {
    const file = '.github/smoke.yml';
    const result = await runAction('smoke-test', {
      workspace: workspaceWith(file, text),
      inputs: { suite: file, 'base-url': server.url, ...extra },
    });
    expect(result.exitCode).toBe(1);
    expect(server.requests).toHaveLength(0);
    return result;
  }

  it('names the file, line and field of a malformed suite (YAML syntax)', async () => {
    const result = await runSuite(
      [
        'checks:',
        '  - name: health',
        '    url: /health',
        '    expect:',
        '      status: [200',
        '  - name: other',
        '',
      ].join('\n'),
    );
    const error = result.errors[result.errors.length - 1];
    expect(error).toMatch(/^Input "suite" file \.github\/smoke\.yml is not a valid smoke suite/);
    expect(error).toMatch(/\.github\/smoke\.yml:\d+:\d+: YAML syntax: /);
  });

  it('names the line and field of schema errors, all of them at once', async () => {
    const text = [
      'checks:', //                                   1
      '  - name: health', //                          2
      '    url: /health', //                          3
      '    timout: 5s', //                            4  misspelt field
      '    expect:', //                               5
      '      status: 2xy', //                         6  bad status
      '  - name: readiness', //                       7
      '    url: /readyz', //                          8
      '    retry:', //                                9
      "      consecutive-successes: 'three'", //     10  wrong type
      '',
    ].join('\n');
    const result = await runSuite(text);
    const error = result.errors[result.errors.length - 1];
    expect(error).toContain('(3 problems)');
    expect(error).toContain(
      '.github/smoke.yml:4:5: checks[0].timout: unknown field "timout" in a check (did you mean "timeout"?)',
    );
    expect(error).toContain(
      '.github/smoke.yml:6:15: checks[0].expect.status: must be a status code such as 200, a class such as 2xx, or a list of them; got "2xy"',
    );
    expect(error).toContain(
      '.github/smoke.yml:10:30: checks[1].retry.consecutive-successes: must be an integer; got "three"',
    );
    // One annotation per problem, on its line, for the pull request view.
    const annotations = result.commands.filter((command) => command.command === 'error' && command.properties.file);
    expect(annotations.map((command) => [command.properties.file, command.properties.line])).toEqual([
      ['.github/smoke.yml', '4'],
      ['.github/smoke.yml', '6'],
      ['.github/smoke.yml', '10'],
    ]);
  });

  it('reports an unknown assertion operator with its line, the same way', async () => {
    const text = [
      'checks:',
      '  - name: health',
      '    url: /health',
      '    expect:',
      '      json:',
      '        $.status: { equal: ok }',
      '',
    ].join('\n');
    const result = await runSuite(text);
    expect(result.errors[result.errors.length - 1]).toContain(
      '.github/smoke.yml:6:21: checks[0].expect.json["$.status"].equal: unknown assertion operator "equal" (did you mean "equals"?); operators here: equals, not-equals,',
    );
  });

  it('reports semantic problems with lines: JSONPath syntax, regex, undefined variables, missing env', async () => {
    const text = [
      'checks:', //                                             1
      '  - name: health', //                                    2
      '    url: /health', //                                    3
      '    headers:', //                                        4
      '      Authorization: Bearer {{env.NOT_SET_ANYWHERE}}', // 5
      '    expect:', //                                         6
      '      json:', //                                         7
      '        $.items[?(@.id ==]: { exists: true }', //          8
      "        $.name: { matches: '([a-z' }", //                9
      '  - name: flow', //                                      10
      '    steps:', //                                          11
      '      - url: /me', //                                    12
      "        headers: { Authorization: 'Bearer {{tokne}}' }", // 13
      '      - url: /login', //                                 14
      '        capture: { token: $.token }', //                 15
      '',
    ].join('\n');
    const result = await runSuite(text);
    const error = result.errors[result.errors.length - 1];
    expect(error).toContain(
      '.github/smoke.yml:5:22: checks[0].headers.Authorization: {{env.NOT_SET_ANYWHERE}} reads environment variable NOT_SET_ANYWHERE, which is not set',
    );
    expect(error).toMatch(
      /\.github\/smoke\.yml:8:9: checks\[0\]\.expect\.json\["\$\.items\[\?\(@\.id ==\]"\]: invalid JSONPath .* at character 18: unbalanced brackets/,
    );
    expect(error).toMatch(
      /\.github\/smoke\.yml:9:28: checks\[0\]\.expect\.json\["\$\.name"\]\.matches: is not a valid regular expression/,
    );
    expect(error).toContain(
      '.github/smoke.yml:13:35: checks[1].steps[0].headers.Authorization: {{tokne}} is not defined at this point',
    );
  });

  it("refuses an earlier release's =~ filter with the rewrite, and a match() pattern that is not an I-Regexp, with their lines", async () => {
    const text = [
      'checks:', //                                                  1
      '  - name: health', //                                         2
      '    url: /health', //                                         3
      '    expect:', //                                              4
      '      json:', //                                              5
      '        $.items[?(@.name =~ /^web-/)]: { length: 2 }', //      6
      "        $.items[?match(@.name, 'web-(?=1)')]: { length: 1 }", // 7
      '',
    ].join('\n');
    const result = await runSuite(text);
    const error = result.errors[result.errors.length - 1];
    expect(error).toContain(
      '.github/smoke.yml:6:9: checks[0].expect.json["$.items[?(@.name =~ /^web-/)]"]: invalid JSONPath "$.items[?(@.name =~ /^web-/)]": "=~ /regex/" is not RFC 9535 JSONPath and is no longer supported; use search() (the pattern anywhere in the value) or match() (the whole value): @.name =~ /^web-/ -> search(@.name, \'^web-\')',
    );
    expect(error).toMatch(
      /\.github\/smoke\.yml:7:9: checks\[0\]\.expect\.json\[.*\]: invalid JSONPath .* match\(\) needs an I-Regexp \(RFC 9485\); "web-\(\?=1\)" is not one/,
    );
  });

  it('points at a missing suite file and at inline suites by line', async () => {
    const missing = await runAction('smoke-test', { inputs: { suite: 'smoke/nowhere.yml' } });
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toMatch(
      /^Input "suite" names a file that does not exist: smoke\/nowhere\.yml \(looked for .*\/smoke\/nowhere\.yml\)\.\nHint: Paths are relative to GITHUB_WORKSPACE/,
    );

    const inline = await runAction('smoke-test', {
      inputs: { suite: 'checks:\n  - name: a\n    url: /x\n    method: 5\n', 'base-url': server.url },
    });
    expect(inline.exitCode).toBe(1);
    expect(inline.errors[0]).toContain(
      'Input "suite" inline YAML is not a valid smoke suite (1 problem):\nsuite (inline):4:13: checks[0].method: must be an HTTP method such as GET or POST; got 5',
    );
    expect(server.requests).toHaveLength(0);
  });

  it('rejects a relative URL without a base URL and expected-version with nothing to read it from', async () => {
    const relative = await runAction('smoke-test', { inputs: { suite: 'checks:\n  - { name: a, url: /health }\n' } });
    expect(relative.errors[0]).toContain(
      'suite (inline):2:21: checks[0].url: "/health" is relative, but neither the base-url input nor the suite\'s base-url is set',
    );

    const versionless = await runAction('smoke-test', {
      inputs: {
        suite: 'checks:\n  - name: flow\n    steps:\n      - url: /a\n',
        'base-url': server.url,
        'expected-version': 'v1.0.0',
      },
    });
    expect(versionless.errors[0]).toMatch(
      /^Input "expected-version" is set, but the suite has no single-request check/,
    );
    expect(server.requests).toHaveLength(0);
  });
});
