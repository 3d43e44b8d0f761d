import { removeRunnerDirectories } from './action-harness.js';

// Runs in every test file (jest setupFilesAfterEnv): what its steps left is removed once it ends.
afterAll(removeRunnerDirectories);
