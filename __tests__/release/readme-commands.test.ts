import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { adopterWorkflows, adoptionList, readmeWithList } from '../../scripts/adoption-list.js';
import { formatMarkdown } from '../../scripts/actions.js';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

describe('README: the two commands', () => {
  const section = readme.slice(
    readme.indexOf('## The two commands'),
    readme.indexOf('\n## ', readme.indexOf('## The two commands') + 5),
  );
  const commands = [...section.matchAll(/```sh\n([^\n]+)\n```/g)].map((match) => match[1]);

  it('says so in those words and shows exactly two commands', () => {
    expect(section).toContain(
      'One command sets everything up and runs the demo, one runs the tests, both from a fresh clone.',
    );
    expect(commands).toEqual(['./scripts/run-demo.sh', './scripts/run-tests.sh']);
  });

  it('the commands set up, install and run what package.json runs, and CI runs the test command', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toBeDefined();
    expect(scripts.test).toBeDefined();
    const steps = (file: string) =>
      read(file)
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('set ') && !line.startsWith('cd '));
    expect(steps('scripts/run-demo.sh')).toEqual(['./scripts/setup-test-env.sh', 'npm ci', 'npm run demo']);
    expect(steps('scripts/run-tests.sh')).toEqual(['./scripts/setup-test-env.sh', 'npm ci', 'npm test']);
    expect(steps('.ci/run')).toContain(commands[1]);
  });
});

describe('README: everything the workflows read', () => {
  it('is the list generated from the workflows now', async () => {
    const file = path.join(REPO_ROOT, 'README.md');
    expect(await formatMarkdown(readmeWithList(readme, adoptionList(adopterWorkflows())), file)).toBe(readme);
  });

  it('names what the issue found missing', () => {
    const list = adoptionList(adopterWorkflows());
    for (const name of [
      'DRILL_SOURCE_DATABASE_URL',
      'ROLLBACK_HEALTH_TIMEOUT',
      'ROLLBACK_MIGRATIONS_FORMAT',
      'ROLLBACK_ENVIRONMENT',
      'DRILL_POSTGRES_IMAGE',
      'DRILL_STAGING_ENVIRONMENT',
      './scripts/migrate-up.sh',
      'docker-compose.yml',
    ]) {
      expect(list).toContain(`\`${name}\``);
    }
  });

  it('picks up a secret, variable or file a workflow starts to read', () => {
    const list = adoptionList([
      {
        file: 'x.yml',
        text: "env:\n  A: ${{ secrets.NEW_SECRET }}\n  B: ${{ vars.NEW_DIR || 'deploy/sql' }}\nsteps:\n  - run: ./bin/warm-cache.sh\n  - run: ${{ secrets.GITHUB_TOKEN }}\n",
      },
    ]);
    expect(list).toContain('- `NEW_SECRET` — x.yml');
    expect(list).toContain('- `NEW_DIR` (default `deploy/sql`) — x.yml');
    expect(list).toContain('- `deploy/sql` — default of `NEW_DIR`');
    expect(list).toContain('- `./bin/warm-cache.sh` — run by x.yml');
    expect(list).not.toContain('GITHUB_TOKEN');
  });
});
