/** Jest runs the TypeScript sources as ESM (the @actions packages are ESM-only). */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/testkit/global-setup.js',
  globalTeardown: '<rootDir>/testkit/global-teardown.js',
  setupFilesAfterEnv: ['<rootDir>/testkit/after-each-file.ts'],
  // Not the default under /tmp: a test run's temporary files all go below one directory it removes.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  testTimeout: 180_000,
  // Most tests wait on PostgreSQL, containers and HTTP, not the CPU: more workers than cores pays off.
  maxWorkers: 3,
  verbose: true,
};
