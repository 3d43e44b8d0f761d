import { runProcess } from '../../shared/process.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { startDemoApp, type RunningDemoApp } from '../../testkit/demo-app.js';
import { migrateDemoSchema } from '../../testkit/demo-schema.js';

/** The demo images run under the real engine against the real database. */
describe('demo application images', () => {
  let database: TestDatabase;
  const apps: RunningDemoApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('demoapp');
    await migrateDemoSchema(database.url, 5);
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.remove()));
    await database.drop();
  });

  it('serves v1.2.0 healthy, with its version, ready on its schema', async () => {
    const app = await startDemoApp('v1.2.0', database.url);
    apps.push(app);
    const health = await runProcess('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', `${app.baseUrl}/health`]);
    const [body, status] = health.stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body)).toEqual({ status: 'ok', version: 'v1.2.0' });
    const ready = await fetch(`${app.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ migrations_current: true, schema_version: 5 });
  });

  it('serves v1.3.0 broken: /health answers 500', async () => {
    const app = await startDemoApp('v1.3.0', database.url);
    apps.push(app);
    const health = await runProcess('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${app.baseUrl}/health`]);
    expect(health.stdout).toBe('500');
  });

  it('reports migrations_current false when the schema is newer than the release supports', async () => {
    const app = await startDemoApp('v1.1.0', database.url);
    apps.push(app);
    const ready = await fetch(`${app.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      migrations_current: false,
      schema_version: 5,
      supported_schema: [3, 3],
    });
  });

  it('walks the register, login, me and project flow, and guards the internal health endpoint', async () => {
    const app = await startDemoApp('v1.2.0', database.url, { operatorToken: 'op-token-123' });
    apps.push(app);
    const json = { 'content-type': 'application/json' };
    const register = await fetch(`${app.baseUrl}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'a@example.com', password: 'correct horse' }),
    });
    expect(register.status).toBe(201);
    const login = await fetch(`${app.baseUrl}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'a@example.com', password: 'correct horse' }),
    });
    const { token } = (await login.json()) as { token: string };
    const auth = { ...json, authorization: `Bearer ${token}` };
    expect(await (await fetch(`${app.baseUrl}/auth/me`, { headers: auth })).json()).toMatchObject({
      email: 'a@example.com',
    });
    const created = (await (
      await fetch(`${app.baseUrl}/projects`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'p1' }) })
    ).json()) as { id: string };
    expect((await (await fetch(`${app.baseUrl}/projects`, { headers: auth })).json()) as object).toMatchObject({
      count: 1,
      projects: [{ name: 'p1' }],
    });
    expect((await fetch(`${app.baseUrl}/projects/${created.id}`, { method: 'DELETE', headers: auth })).status).toBe(
      204,
    );
    expect((await fetch(`${app.baseUrl}/health/internal`)).status).toBe(401);
    expect(
      (await fetch(`${app.baseUrl}/health/internal`, { headers: { authorization: 'Bearer op-token-123' } })).status,
    ).toBe(200);
  });
});
