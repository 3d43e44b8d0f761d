// Jest loads global setup through Node's own ESM loader, which cannot resolve the TypeScript
// sources' ".js" imports; tsx can. Setup and teardown share the module instance (and its state).
import { tsImport } from 'tsx/esm/api';

export const lifecycle = await tsImport('./services/lifecycle.ts', import.meta.url);

export default async function globalSetup() {
  await lifecycle.setUp();
}
