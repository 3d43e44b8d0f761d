import { loadLifecycle } from './global-setup.js';

export default async function globalTeardown() {
  await (await loadLifecycle()).tearDown();
}
