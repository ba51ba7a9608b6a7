// Preloaded into every test process by run-tests.ts (`--import`): a test or hook that names no timeout
// gets RAG_TEST_TIMEOUT_MS, so nothing waits forever on a dead server. Node 20's --test-timeout
// bounds a whole file, not each test, hence this. Tests that set their own timeout keep it.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const nodeTest = require('node:test') as Record<string, any>;
const ms = Number(process.env.RAG_TEST_TIMEOUT_MS);

/** The call site two frames up: whoever called test()/it(). */
function callerSite(): NodeJS.CallSite | undefined {
  const saved = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, sites) => sites;
  const sites = new Error().stack as unknown as NodeJS.CallSite[];
  Error.prepareStackTrace = saved;
  return sites[2];
}

/** test(name?, options?, fn?) with options.timeout defaulted. */
function withDefaultTimeout(fn: (...args: any[]) => unknown): (...args: any[]) => unknown {
  const wrapped = (...args: any[]) => {
    let at = args.findIndex((a) => typeof a === 'object' && a !== null);
    if (at < 0) {
      at = typeof args[0] === 'string' ? 1 : 0;
      args.splice(at, 0, {});
    }
    if (args[at].timeout === undefined) args[at] = { ...args[at], timeout: ms };
    // node:test records the caller's position as the test's location: call from a frame placed there.
    const site = callerSite();
    const file = site?.getFileName();
    if (!site || !file) return fn(...args);
    const call = vm.compileFunction('return fn(...args)', ['fn', 'args'], { filename: file, lineOffset: (site.getLineNumber() ?? 1) - 1, columnOffset: (site.getColumnNumber() ?? 1) - 1 });
    return call(fn, args);
  };
  for (const k of ['skip', 'todo', 'only']) if (typeof (fn as any)[k] === 'function') (wrapped as any)[k] = (fn as any)[k];
  return wrapped;
}

/** before(fn, options?) and friends: options come second. */
function hookWithDefaultTimeout(fn: (hook: unknown, options?: object) => unknown): (hook: unknown, options?: object) => unknown {
  return (hook, options = {}) => fn(hook, { timeout: ms, ...options });
}

if (ms > 0) {
  for (const name of ['test', 'it']) nodeTest[name] = withDefaultTimeout(nodeTest[name]);
  for (const name of ['before', 'after', 'beforeEach', 'afterEach']) nodeTest[name] = hookWithDefaultTimeout(nodeTest[name]);
  syncBuiltinESMExports();
}
