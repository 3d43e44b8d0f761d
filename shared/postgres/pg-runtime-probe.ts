/**
 * Imported first by the actions that connect at once (backup-db, restore-db), before pg.
 *
 * pg decides when it is loaded whether it runs on Cloudflare Workers: it reads navigator.userAgent
 * and, where there is no navigator (Node 20; Node 21 and later define one), constructs a fetch
 * Response to look for Cloudflare's extension, which loads Node's own copy of undici. That is
 * 40-110 ms of CPU at every step's start, before the first input is read, and it multiplies on a
 * loaded runner. Node 20 gets the navigator later versions have (its userAgent only), so pg's first
 * test answers.
 */
const scope = globalThis as { navigator?: { userAgent?: string } };
if (scope.navigator === undefined)
  Object.defineProperty(globalThis, 'navigator', {
    value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` },
    configurable: true,
    writable: true,
  });
