import { lifecycle } from './global-setup.js';

export default async function globalTeardown() {
  await lifecycle.tearDown();
}
