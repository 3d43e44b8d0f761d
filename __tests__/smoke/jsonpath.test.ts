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
    ["$.projects[?search(@.name, '^(a|g)')].id", ['1', '3']],
    ["$.projects[?match(@.name, 'b.*')].id", ['2']],
    ["$.projects[?match(@.name, 'et')].id", []],
    ["$.nested.deep[?match(@, 'v[0-9]')]", ['v9']],
    ["$[?match(@, 'v1\\\\.[0-9]+\\\\.[0-9]+')]", ['v1.2.0']],
    ['$.projects[?length(@.tags) == 0].id', ['2']],
    ['$.projects[?count(@.*) == 4].id', ['1', '2', '3']],
    ['$.projects[?count(@.tags[*]) > 0].id', ['1']],
    ["$.projects[?value(@..email) == 'x@example.com'].id", ['3']],
    ["$.projects[?(@.size >= 7 || @.name == 'alpha')].id", ['1', '2', '3']],
    ['$..version', ['v1.2.0', 'v9']],
    ['$..email', ['x@example.com']],
    ['$.missing', []],
    ['$.projects[7]', []],
  ])('%s', (path, expected) => {
    expect(query(path)).toEqual(expected);
  });

  it('a slice with step 0 is valid RFC 9535 and selects nothing', () => {
    expect(query('$.projects[0:2:0]')).toEqual([]);
  });

  it("turns an earlier release's =~ /regex/ filter into a migration message with the rewrite", () => {
    expect(() => compileJsonPath('$.projects[?(@.name =~ /^(a|g)/)].id')).toThrow(
      'invalid JSONPath "$.projects[?(@.name =~ /^(a|g)/)].id": "=~ /regex/" is not RFC 9535 JSONPath and is no longer supported; use search() (the pattern anywhere in the value) or match() (the whole value): @.name =~ /^(a|g)/ -> search(@.name, \'^(a|g)\')',
    );
    // Backslashes doubled and quotes escaped for a JSONPath string; flags cannot be carried over.
    expect(() => compileJsonPath("$[?@.v =~ /it's\\d+/i]")).toThrow(
      "@.v =~ /it's\\d+/i -> search(@.v, 'it\\'s\\\\d+') (I-Regexp has no flags: /i cannot be carried over; write case variants as [Aa])",
    );
    // The rewrite is itself valid and selects what =~ selected.
    expect(query("$.projects[?(search(@.name, '^(a|g)'))].id")).toEqual(['1', '3']);
  });

  it('tells definite paths (one value at most) from ones that select lists', () => {
    expect(compileJsonPath('$.projects[0].name').definite).toBe(true);
    expect(compileJsonPath('$.projects[*].name').definite).toBe(false);
    expect(compileJsonPath('$..name').definite).toBe(false);
  });

  it.each([
    ['status', /at character 1: expected '\$', found 's'/],
    ['$.', /at character 3: the path ends too early/],
    ['$.a[', /unclosed bracketed selection/],
    ["$.a['b", /unclosed string/],
    ['$.a[?(@.b == )]', /at character 14: unexpected '\)'/],
    ['$.a[?length(@.b)]', /result of length\(\) +must be compared/],
    ['$.a[01]', /leading zero/],
    ['$.a]', /found '\]'/],
    ["$.a[?match(@.b, 'a(')]", /at character 18: match\(\) needs an I-Regexp \(RFC 9485\); "a\(" is not one/],
    ["$.a[?@.c[?search(@, '(?i)x')]]", /search\(\) needs an I-Regexp/],
    ["$.a[?search(@, 'a(?=b)')]", /search\(\) needs an I-Regexp/],
    ["$.a[?search(@, '(a)\\\\1')]", /search\(\) needs an I-Regexp/],
  ])('rejects %s with the position', (path, message) => {
    expect(() => compileJsonPath(path)).toThrow(JsonPathError);
    expect(() => compileJsonPath(path)).toThrow(message);
  });
});
