import path from 'node:path';
import {
  inputEnvName,
  parseFileCommand,
  parseWorkflowCommand,
  REPO_ROOT,
  runAction,
} from '../../testkit/action-harness.js';

const probeDir = path.join(REPO_ROOT, '__tests__', 'fixtures', 'harness-probe');
const runProbe = (inputs: Record<string, string>, githubToken?: string) =>
  runAction('harness-probe', { actionDir: probeDir, entry: path.join(probeDir, 'index.js'), inputs, githubToken });

describe('runner-faithful harness', () => {
  it('mangles input names like the runner: upper case, spaces to _, hyphens kept', () => {
    expect(inputEnvName('database-url')).toBe('INPUT_DATABASE-URL');
    expect(inputEnvName('with default')).toBe('INPUT_WITH_DEFAULT');
  });

  it('round-trips a hyphenated input into a multi-line output through @actions/core', async () => {
    const value = 'first line\nsecond line with = and << signs\n\nlast line';
    const result = await runProbe({ 'multi-line-input': value }, 'ghs_job_token');
    expect(result.exitCode).toBe(0);
    expect(result.outputs.echo).toBe(value);
    expect(result.outputs.json).toBe('{"lines":4}');
    // action.yml defaults are applied as the runner applies them, expressions included.
    expect(result.outputs['with-default']).toBe('the default');
    expect(result.outputs.token).toBe('ghs_job_token');
    expect(result.exportedEnv.PROBE_EXPORTED).toBe('line one\nline two');
    expect(result.state['probe-state']).toBe('saved');
    expect(result.addedPath).toEqual(['/opt/probe/bin']);
    expect(result.summary).toContain('<h1>Probe</h1>');
    expect(result.warnings).toEqual(['a warning, with: punctuation']);
  });

  it('masks registered secrets in the rendered log, as the runner does', async () => {
    const result = await runProbe({ 'multi-line-input': 'x' });
    expect(result.masks).toEqual(['hunter2-secret']);
    expect(result.stdout).toContain('the secret is hunter2-secret');
    expect(result.log).toContain('the secret is ***');
    expect(result.log).not.toContain('hunter2-secret');
  });

  it('reports failures as the runner sees them: exit code 1 and a decoded ::error::', async () => {
    const result = await runProbe({ 'multi-line-input': 'fail' });
    expect(result.exitCode).toBe(1);
    expect(result.errors).toEqual(['failing on purpose\nsecond line']);
  });

  it('parses both file command forms and workflow command escapes', () => {
    expect(parseFileCommand('a=1\nb<<EOF_1\nx\ny\nEOF_1\nc=has=equals\n')).toEqual({
      a: '1',
      b: 'x\ny',
      c: 'has=equals',
    });
    expect(() => parseFileCommand('a<<EOF\nnever closed')).toThrow(/no closing delimiter/);
    expect(parseWorkflowCommand('::error file=a%2Cb.ts,line=3::100%25 broken%0Anext')).toEqual({
      command: 'error',
      properties: { file: 'a,b.ts', line: '3' },
      message: '100% broken\nnext',
    });
  });
});
