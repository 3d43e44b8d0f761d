import { paginate, SIMPLE_USER, type FakeGitHubServer } from './server.js';

/**
 * Issues and issue comments (docs: REST API, "Issues" and "Issue comments"), the parts a failed
 * rollback drill uses: list open issues by label, open one, comment on one.
 */
export interface IssueRecord {
  number: number;
  owner: string;
  repo: string;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  comments: string[];
}

export class IssuesApi {
  readonly issues: IssueRecord[] = [];

  constructor(server: FakeGitHubServer) {
    const json = (issue: IssueRecord) => ({
      id: 1_000_000 + issue.number,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      labels: issue.labels.map((name, index) => ({ id: index + 1, name })),
      comments: issue.comments.length,
      user: SIMPLE_USER,
      html_url: `https://github.com/${issue.owner}/${issue.repo}/issues/${issue.number}`,
    });
    server.route(
      'GET',
      '/repos/{owner}/{repo}/issues',
      (request) => {
        const { owner, repo } = request.params;
        const state = request.query.get('state') ?? 'open';
        const labels = (request.query.get('labels') ?? '').split(',').filter(Boolean);
        const items = this.issues
          .filter((issue) => issue.owner === owner && issue.repo === repo && (state === 'all' || issue.state === state))
          .filter((issue) => labels.every((label) => issue.labels.includes(label)))
          .sort((a, b) => b.number - a.number)
          .map(json);
        return paginate(request, server.baseUrl, items);
      },
      { scope: 'issues', level: 'read' },
    );
    server.route(
      'POST',
      '/repos/{owner}/{repo}/issues',
      (request) => {
        const body = (request.body ?? {}) as { title?: unknown; body?: unknown; labels?: unknown };
        if (typeof body.title !== 'string' || body.title === '')
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [{ resource: 'Issue', code: 'missing_field', field: 'title' }],
            },
          };
        const issue: IssueRecord = {
          number: this.issues.length + 1,
          owner: request.params.owner,
          repo: request.params.repo,
          title: body.title,
          body: typeof body.body === 'string' ? body.body : '',
          labels: Array.isArray(body.labels) ? body.labels.map(String) : [],
          state: 'open',
          comments: [],
        };
        this.issues.push(issue);
        return { status: 201, body: json(issue) };
      },
      { scope: 'issues', level: 'write' },
    );
    server.route(
      'POST',
      '/repos/{owner}/{repo}/issues/{number}/comments',
      (request) => {
        const issue = this.issues.find(
          (candidate) =>
            candidate.owner === request.params.owner &&
            candidate.repo === request.params.repo &&
            candidate.number === Number(request.params.number),
        );
        if (!issue) return { status: 404, body: { message: 'Not Found' } };
        const body = (request.body ?? {}) as { body?: unknown };
        issue.comments.push(String(body.body ?? ''));
        return { status: 201, body: { id: 2_000_000 + issue.comments.length, body: body.body, user: SIMPLE_USER } };
      },
      { scope: 'issues', level: 'write' },
    );
  }
}
