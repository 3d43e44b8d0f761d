import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Actions must never build shell strings from inputs: child_process.exec/execSync run a shell.
// (An override's no-restricted-imports replaces the base one, so both name these paths.)
const noShellImports = [
  {
    name: 'node:child_process',
    importNames: ['exec', 'execSync'],
    message: 'Use runProcess from shared/process.ts: arguments as an array, no shell.',
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': [
        'error',
        {
          paths: noShellImports,
        },
      ],
      'no-restricted-properties': ['error', { property: 'execSync', message: 'Use runProcess: no shell.' }],
    },
  },
  {
    files: ['actions/**/*.ts', 'shared/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "Property[key.name='shell'][value.value=true]", message: 'No shell: pass arguments as an array.' },
        {
          selector: "CallExpression[callee.name='spawn'] Property[key.name='shell']:not([value.value=false])",
          message: 'No shell.',
        },
      ],
    },
  },
  {
    files: ['__tests__/**/*.ts', '__tests__/**/*.js', 'testkit/**/*.ts', 'testkit/**/*.js'],
    languageOptions: { globals: { ...globals.jest } },
  },
  {
    // Tests import the test kit, the demo and the benchmarks; nothing outside __tests__ imports a test.
    files: ['actions/**/*.ts', 'shared/**/*.ts', 'cli/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'testkit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noShellImports,
          patterns: [
            { group: ['**/__tests__/**'], message: 'Shared test support lives in testkit/, not in __tests__/.' },
          ],
        },
      ],
    },
  },
);
