// Jest loads global setup through Node's own module loader, which cannot resolve the TypeScript
// sources' ".js" imports; tsx can. Setup and teardown share the module instance (and its state).
import { tsImport } from 'tsx/esm/api';

let lifecycle;
export function loadLifecycle() {
  lifecycle ??= tsImport('./services/lifecycle.ts', import.meta.url);
  return lifecycle;
}

export default async function globalSetup() {
  await (await loadLifecycle()).setUp();
}
