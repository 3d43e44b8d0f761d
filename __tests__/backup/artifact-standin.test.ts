import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { READ_TOKEN, startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';

/**
 * The artifact service stand-in answers the real @actions/artifact client: upload (Twirp create,
 * blob blocks, block list, finalize), list, get, download of this run's artifacts, and, through the
 * GitHub REST stand-in, of another run's.
 */
describe('artifact service stand-in', () => {
  // @actions/github reads GITHUB_API_URL when it is first loaded, as it is in a real step: load
  // the client only after the REST stand-in's address is in the environment.
  let DefaultArtifactClient: typeof import('@actions/artifact').DefaultArtifactClient;
  let standIns: StandIns;
  let service: StandIns['artifacts'];
  const saved = { ...process.env };
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'artifact-standin-'));

  beforeAll(async () => {
    standIns = await startStandIns();
    service = standIns.artifacts;
    process.env.GITHUB_API_URL = standIns.github.server.baseUrl;
    ({ DefaultArtifactClient } = await import('@actions/artifact'));
  });
  afterAll(async () => {
    process.env = saved;
    await standIns.stop();
  });

  function actAsJobOf(runId: number): void {
    Object.assign(process.env, standIns.env(runId), {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_WORKSPACE: workDir,
    });
  }

  function makeFiles(name: string, sizes: number[]): { root: string; files: string[]; hashes: string[] } {
    const root = path.join(workDir, name);
    mkdirSync(root, { recursive: true });
    const files = sizes.map((size, index) => {
      const file = path.join(root, `part-${index}.bin`);
      writeFileSync(file, randomBytes(size));
      return file;
    });
    return { root, files, hashes: files.map((file) => createHash('sha256').update(readFileSync(file)).digest('hex')) };
  }

  it('uploads through Put Block / Put Block List and downloads the same bytes in the same run', async () => {
    actAsJobOf(501);
    // 9 MiB + a little: more than one 8 MiB block of the client's upload stream.
    const { root, files, hashes } = makeFiles('upload-one', [9 * 1024 * 1024 + 17, 1234]);
    const client = new DefaultArtifactClient();
    const uploaded = await client.uploadArtifact('backup-one', files, root, { retentionDays: 3, compressionLevel: 0 });
    expect(uploaded.id).toBeGreaterThan(0);
    expect(uploaded.size).toBeGreaterThan(9 * 1024 * 1024);

    const operations = service.blobs.log.map((entry) => entry.operation);
    expect(operations.filter((operation) => operation === 'put-block').length).toBeGreaterThanOrEqual(2);
    expect(operations).toContain('put-block-list');
    expect(service.calls.map((call) => call.method)).toEqual(
      expect.arrayContaining(['CreateArtifact', 'FinalizeArtifact']),
    );
    const record = service.records.find((candidate) => candidate.id === uploaded.id)!;
    expect(record.digest).toBe(`sha256:${uploaded.digest}`);
    const retentionMs = record.expiresAt.getTime() - record.createdAt.getTime();
    expect(Math.round(retentionMs / 86_400_000)).toBe(3);

    const { artifacts } = await client.listArtifacts();
    expect(artifacts.map((artifact) => artifact.name)).toEqual(['backup-one']);
    const { artifact } = await client.getArtifact('backup-one');
    expect(artifact.id).toBe(uploaded.id);

    const target = path.join(workDir, 'download-one');
    const downloaded = await client.downloadArtifact(artifact.id, { path: target, expectedHash: artifact.digest });
    expect(downloaded.digestMismatch).toBe(false);
    const back = files.map((file) =>
      createHash('sha256')
        .update(readFileSync(path.join(target, path.basename(file))))
        .digest('hex'),
    );
    expect(back).toEqual(hashes);
  });

  it('refuses a second artifact with the same name in a run, and tokens that are not its own', async () => {
    actAsJobOf(501);
    const { root, files } = makeFiles('upload-dup', [10]);
    await expect(new DefaultArtifactClient().uploadArtifact('backup-one', files, root)).rejects.toThrow(
      /already exists/,
    );

    process.env.ACTIONS_RUNTIME_TOKEN = `${service.runnerEnv(501).ACTIONS_RUNTIME_TOKEN.slice(0, -4)}AAAA`;
    await expect(new DefaultArtifactClient().listArtifacts()).rejects.toThrow(/401|unauthenticated|runtime token/i);
  });

  it("lists and downloads another run's artifact through the REST API with a token", async () => {
    actAsJobOf(502);
    const { root, files, hashes } = makeFiles('upload-two', [4096]);
    const uploaded = await new DefaultArtifactClient().uploadArtifact('backup-two', files, root);

    actAsJobOf(503);
    const client = new DefaultArtifactClient();
    // This run has none of its own...
    expect((await client.listArtifacts()).artifacts).toEqual([]);
    // ...but run 502's are reachable with a token.
    const findBy = { token: READ_TOKEN, workflowRunId: 502, repositoryOwner: 'acme', repositoryName: 'shop' };
    const { artifacts } = await client.listArtifacts({ findBy });
    expect(artifacts.map((artifact) => artifact.name)).toEqual(['backup-two']);
    const { artifact } = await client.getArtifact('backup-two', { findBy });
    expect(artifact.id).toBe(uploaded.id);
    const target = path.join(workDir, 'download-two');
    const downloaded = await client.downloadArtifact(artifact.id, {
      path: target,
      findBy,
      expectedHash: artifact.digest,
    });
    expect(downloaded.digestMismatch).toBe(false);
    expect(
      createHash('sha256')
        .update(readFileSync(path.join(target, 'part-0.bin')))
        .digest('hex'),
    ).toBe(hashes[0]);

    await expect(client.getArtifact('backup-two', { findBy: { ...findBy, token: 'wrong' } })).rejects.toThrow(
      /Bad credentials/,
    );
  });

  it('rejects blob requests whose signature was tampered with', async () => {
    const [record] = service.records.filter((candidate) => candidate.state === 'finalized');
    const url = new URL(service.signedDownloadUrl(record.id));
    url.searchParams.set('sp', 'rw');
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('AuthenticationFailed');
  });
});
