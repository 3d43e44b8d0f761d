import { gitHubDidNotAnswer } from '../../shared/github/no-answer.js';

/**
 * What the README promises for GitHub lost during a run: no connection or a server error is an
 * outage (the ledger may answer instead); a refusal is a setting to fix and stays an error.
 */
describe('telling GitHub down from GitHub refusing', () => {
  it.each([
    ['no connection (no status)', new Error('connect ECONNREFUSED 127.0.0.1:1'), true],
    ['a timeout Octokit reports as 500', Object.assign(new Error('timeout'), { status: 500 }), true],
    ['502 Bad Gateway', Object.assign(new Error('bad gateway'), { status: 502 }), true],
    ['503 Service Unavailable', Object.assign(new Error('unavailable'), { status: 503 }), true],
    ['401 Bad credentials', Object.assign(new Error('Bad credentials'), { status: 401 }), false],
    ['403 Resource not accessible', Object.assign(new Error('forbidden'), { status: 403 }), false],
    ['404 Not Found', Object.assign(new Error('not found'), { status: 404 }), false],
  ])('%s: did not answer = %s', (_name, error, expected) => {
    expect(gitHubDidNotAnswer(error)).toBe(expected);
  });
});
