import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ChromiumMissingError, RenderError } from './eval-errors.js';
import { readPngInfo, type PngInfo } from './png.js';

/**
 * Headless Chromium, for turning reports into PNGs and for reading back the DOM a report renders to. Each call
 * gets its own throw-away profile, so concurrent calls never fight over a profile lock.
 */

export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

export interface ChromiumOptions {
  /** Use this binary instead of searching. */
  binary?: string;
  /** Directories to search, PATH-style (default: this process's PATH). */
  searchPath?: string;
  /** Kill Chromium after this long (default 60 s). */
  timeoutMs?: number;
}

export interface ScreenshotOptions extends ChromiumOptions {
  width?: number;
  height?: number;
}

const HINT = 'install it with `apt-get install -y chromium` (or `bash infra/setup.sh --dev`); the HTML report is usable without it';

async function executable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The Chromium binary to run; throws ChromiumMissingError with an install hint. */
export async function findChromium(opts: ChromiumOptions = {}): Promise<string> {
  if (opts.binary) {
    if (await executable(opts.binary)) return opts.binary;
    throw new ChromiumMissingError(`Chromium binary ${opts.binary} is not an executable file`, { hint: HINT });
  }
  const dirs = (opts.searchPath ?? process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (await executable(p)) return p;
    }
  }
  throw new ChromiumMissingError(`no headless Chromium found (looked for ${CHROMIUM_NAMES.join(', ')} on the PATH)`, { hint: HINT });
}

// D-Bus and GPU chatter that headless Chromium prints on every run in a container: not errors for us.
const NOISE = /dbus|Failed to connect to the bus|unexpected operator|object_proxy|interface_endpoint_client|gpu_init|viz_main|^\s*$/i;

function usefulStderr(stderr: string): string {
  return stderr.split('\n').filter((l) => !NOISE.test(l)).slice(-8).join('\n');
}

async function runChromium(args: string[], opts: ChromiumOptions): Promise<{ stdout: string; stderr: string }> {
  const binary = await findChromium(opts);
  const profile = await mkdtemp(join(tmpdir(), 'rag-chromium-'));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  try {
    return await new Promise((resolvePromise, reject) => {
      const child = spawn(binary, [
        '--headless', '--disable-gpu', '--no-sandbox', '--disable-dev-shm-usage', '--no-first-run',
        '--no-default-browser-check', '--disable-extensions', '--mute-audio', '--hide-scrollbars',
        '--force-device-scale-factor=1', `--user-data-dir=${profile}`, ...args,
      ], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stdout = '', stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      // Renderer and zygote processes are children of the browser: kill the whole group on timeout.
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
      child.on('error', (err) => { clearTimeout(timer); reject(new RenderError(`cannot start ${binary}: ${err.message}`, { cause: err, hint: HINT })); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise({ stdout, stderr });
        else reject(new RenderError(`${binary} ${signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs} ms` : ''}` : `exited with ${code}`}`, {
          hint: usefulStderr(stderr) || 'run it by hand with the same flags to see why',
        }));
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

async function fileUrl(htmlPath: string): Promise<string> {
  const abs = resolve(htmlPath);
  try {
    await access(abs, constants.R_OK);
  } catch (err) {
    throw new RenderError(`cannot read ${htmlPath}`, { cause: err, hint: 'write the HTML report first' });
  }
  return pathToFileURL(abs).href;
}

/** Screenshots an HTML file into a PNG of exactly width x height (default 1280 x 900); returns its header. */
export async function htmlToPng(htmlPath: string, pngPath: string, opts: ScreenshotOptions = {}): Promise<PngInfo & { path: string; bytes: number }> {
  const width = opts.width ?? 1280, height = opts.height ?? 900;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 16384 || height > 16384) {
    throw new RenderError(`bad screenshot size ${width}x${height}`, { hint: 'width and height are whole pixels, 1 to 16384' });
  }
  const binary = await findChromium(opts); // a missing browser is the first thing to say
  const url = await fileUrl(htmlPath);
  const out = isAbsolute(pngPath) ? pngPath : resolve(pngPath);
  await rm(out, { force: true });
  const { stderr } = await runChromium([`--screenshot=${out}`, `--window-size=${width},${height}`, url], { ...opts, binary });
  let buf: Buffer;
  try {
    buf = await readFile(out);
  } catch (err) {
    throw new RenderError(`Chromium wrote no screenshot to ${out}`, { cause: err, hint: usefulStderr(stderr) || 'check that the folder is writable' });
  }
  return { ...readPngInfo(buf), path: out, bytes: buf.length };
}

/** The DOM after Chromium has loaded and laid out the page (serialised HTML). */
export async function renderedDom(htmlPath: string, opts: ChromiumOptions = {}): Promise<string> {
  const binary = await findChromium(opts);
  const { stdout, stderr } = await runChromium(['--dump-dom', await fileUrl(htmlPath)], { ...opts, binary });
  if (!stdout.includes('<html')) throw new RenderError(`Chromium returned no DOM for ${htmlPath}`, { hint: usefulStderr(stderr) || 'the page did not load' });
  return stdout;
}
