import { compileJsonPath, JsonPathError, queryJsonPath } from '../../actions/smoke-test/jsonpath.js';

const document = {
  status: 'ok',
  version: 'v1.2.0',
  'odd.key': 1,
  projects: [
    { id: '1', name: 'alpha', tags: ['a'], size: 3 },
    { id: '2', name: 'beta', tags: [], size: 10 },
    { id: '3', name: 'gamma', size: 7, owner: { email: 'x@example.com' } },
  ],
  nested: { deep: { version: 'v9' } },
};

const query = (path: string) => queryJsonPath(compileJsonPath(path), document);

describe('JSONPath', () => {
  it.each([
    ['$', [document]],
    ['$.status', ['ok']],
    ["$['odd.key']", [1]],
    ['$.projects[0].name', ['alpha']],
    ['$.projects[-1].name', ['gamma']],
    ['$.projects[*].id', ['1', '2', '3']],
    ['$.projects[0,2].name', ['alpha', 'gamma']],
    ['$.projects[1:].name', ['beta', 'gamma']],
    ['$.projects[::-1].id', ['3', '2', '1']],
    ["$.projects[?(@.name == 'beta')].id", ['2']],
    ['$.projects[?@.size > 5 && @.size < 10].name', ['gamma']],
    ['$.projects[?(@.owner)].name', ['gamma']],
    ['$.projects[?(!@.tags)].name', ['gamma']],
    ['$.projects[?(@.name =~ /^(a|g)/)].id', ['1', '3']],
    ["$.projects[?(@.size >= 7 || @.name == 'alpha')].id", ['1', '2', '3']],
    ['$..version', ['v1.2.0', 'v9']],
    ['$..email', ['x@example.com']],
    ['$.missing', []],
    ['$.projects[7]', []],
  ])('%s', (path, expected) => {
    expect(query(path)).toEqual(expected);
  });

  it('tells definite paths (one value at most) from ones that select lists', () => {
    expect(compileJsonPath('$.projects[0].name').definite).toBe(true);
    expect(compileJsonPath('$.projects[*].name').definite).toBe(false);
    expect(compileJsonPath('$..name').definite).toBe(false);
  });

  it.each([
    ['status', /must start with "\$"/],
    ['$.', /expected a member name or \* after "\."/],
    ['$.a[', /expected a quoted name, an index/],
    ["$.a['b", /unterminated string/],
    ['$.a[?(@.b == )]', /at character 14: expected @, \$, a string/],
    ['$.a[0:1:0]', /slice step must not be 0/],
    ['$.a]', /unexpected "\]"/],
  ])('rejects %s with the position', (path, message) => {
    expect(() => compileJsonPath(path)).toThrow(JsonPathError);
    expect(() => compileJsonPath(path)).toThrow(message);
  });
});
