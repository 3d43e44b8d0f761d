import { formatEvent } from '../../shared/events.js';
import { formatCommand, ProcessError, runProcess } from '../../shared/process.js';
import { redactUrl } from '../../shared/secrets.js';
import { markdownTable } from '../../shared/summary.js';
import { describeTarget, resolvePgTarget } from '../../shared/postgres/connection.js';

describe('runProcess', () => {
  it('passes hostile arguments inertly: no shell ever sees them', async () => {
    const hostile = ['v1; rm -rf /', '$(id)', '`id`', 'a\'b"c', '&& echo pwned'];
    const { stdout } = await runProcess('printf', ['%s\\n', ...hostile]);
    expect(stdout.split('\n').slice(0, -1)).toEqual(hostile);
  });

  it('fails with the command, the exit code and the end of stderr', async () => {
    const error = await runProcess('sh', ['-c', 'echo first >&2; echo last words >&2; exit 3']).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ProcessError);
    expect((error as ProcessError).message).toBe(
      "sh -c 'echo first >&2; echo last words >&2; exit 3' exited with code 3:\nfirst\nlast words",
    );
  });

  it('names a missing program and enforces timeouts', async () => {
    await expect(runProcess('no-such-program-xyz', [])).rejects.toThrow('"no-such-program-xyz" was not found');
    await expect(runProcess('sleep', ['5'], { timeoutMs: 200 })).rejects.toThrow('sleep 5 timed out after 200ms');
  });

  it('streams lines and feeds stdin', async () => {
    const lines: string[] = [];
    await runProcess('cat', [], { input: 'a\nb\nc', onStdoutLine: (line) => lines.push(line) });
    expect(lines).toEqual(['a', 'b', 'c']);
    expect(formatCommand('docker', ['compose', '-p', 'my app'])).toBe("docker compose -p 'my app'");
  });
});

describe('secrets in connection URLs', () => {
  it('redacts passwords for display and resolves targets without them', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db:5432/shop?sslmode=require')).toBe(
      'postgres://app:***@db:5432/shop?sslmode=require',
    );
    const target = resolvePgTarget('postgres://app:s3cr%40t@db.internal:6432/shop');
    expect(target).toMatchObject({
      host: 'db.internal',
      port: 6432,
      user: 'app',
      password: 's3cr@t',
      database: 'shop',
    });
    expect(describeTarget(target)).toBe('app@db.internal:6432/shop');
  });

  it('rejects URLs that are not PostgreSQL URLs, naming the input', () => {
    expect(() => resolvePgTarget('mysql://a:b@h/db')).toThrow(
      'Input "database-url" must start with postgres:// or postgresql://; got "mysql://".',
    );
    expect(() => resolvePgTarget('postgres://a:b@h:5432')).toThrow(/Input "database-url" must name a database/);
  });
});

describe('events and summaries', () => {
  it('writes one JSON object per event', () => {
    expect(
      formatEvent(
        'rollback_start',
        { from: 'v1.3.0', to: 'v1.2.0', skipped: undefined },
        new Date('2026-01-01T00:00:00Z'),
      ),
    ).toBe('{"event":"rollback_start","from":"v1.3.0","to":"v1.2.0","time":"2026-01-01T00:00:00.000Z"}');
  });

  it('escapes table cells', () => {
    expect(markdownTable(['a', 'b'], [['x|y', 'line\nbreak']])).toBe(
      '| a | b |\n| --- | --- |\n| x\\|y | line<br>break |\n',
    );
  });
});
