import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RAG = resolve(REPO, 'rag');
export const ENWIKI = resolve(REPO, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2');

export interface RagResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs ./rag as a user would, with an explicit environment (no inherited REDIS_URL/RAG_STORAGE). */
export function runRag(args: string[], env: Record<string, string | undefined>, opts: { timeoutMs?: number } = {}): Promise<RagResult> {
  const child = startRag(args, env);
  return collect(child, opts.timeoutMs ?? 600_000);
}

/** `detached`: own process group, as a shell starts a foreground job (a terminal's Ctrl-C is kill(-pid, SIGINT)). */
export function startRag(args: string[], env: Record<string, string | undefined>, opts: { detached?: boolean } = {}): ChildProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RAG_') && k !== 'REDIS_URL' && !k.startsWith('AWS_')) base[k] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  return spawn(RAG, args, { env: base, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
}

/**
 * Seconds the CLI needs, on this machine right now, to start a build and fail on an input check (no
 * storage, no Redis): the baseline that wall-clock bounds in tests are measured beyond.
 */
export async function cliStartupSeconds(scratch: string): Promise<number> {
  const t0 = Date.now();
  const r = await runRag(['snapshot', 'build', '--source', join(scratch, 'absent.jsonl'), '--snapshot', 'startup', '--no-progress'], { RAG_HOME: join(scratch, 'startup-home'), RAG_STORAGE: join(scratch, 'startup-storage') });
  if (r.code !== 2) throw new Error(`expected the CLI to refuse an absent source (exit 2), got ${r.code}: ${r.stderr}`);
  return (Date.now() - t0) / 1000;
}

export function collect(child: ChildProcess, timeoutMs: number): Promise<RagResult> {
  return new Promise((resolvePromise) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => { stdout += d; });
    child.stderr?.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves when the child's output (stdout or stderr) has matched `re`; rejects if it exits or the time runs out first. */
export function waitForOutput(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const done = (err?: Error) => {
      clearTimeout(t);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('close', onClose);
      if (err) reject(err); else resolvePromise();
    };
    const onData = (d: Buffer | string) => { seen += d; if (re.test(seen)) done(); };
    const onClose = () => done(new Error(`the process exited before its output matched ${re}:\n${seen.slice(-2000)}`));
    const t = setTimeout(() => done(new Error(`no output matched ${re} within ${timeoutMs} ms:\n${seen.slice(-2000)}`)), timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('close', onClose);
  });
}
