import type { Redis } from 'ioredis';
import { redactUrl } from '@rag/core';

export interface RedisWatchOptions {
  url: string;
  stream?: NodeJS.WritableStream;
  /** Silence allowed before the first line. @defaultValue 10000 */
  warnAfterMs?: number;
  /** Then one line this often while it lasts. @defaultValue 30000 */
  repeatMs?: number;
}

/**
 * Says what the command is waiting for when its Redis goes away mid-run. The queue connection
 * retries forever (BullMQ needs that, and a restarted Redis is recovered by the same command), so
 * without this a lost Redis looked like a silent hang.
 */
export function watchRedis(conn: Redis, o: RedisWatchOptions): () => void {
  const stream = o.stream ?? process.stderr;
  const warnAfter = o.warnAfterMs ?? 10_000;
  const repeat = o.repeatMs ?? 30_000;
  let downSince: number | undefined;
  let lastError = '';
  let lastLine = 0;
  const onDown = () => { downSince ??= Date.now(); };
  const onError = (err: Error) => { lastError = err.message; onDown(); };
  const onReady = () => {
    if (downSince !== undefined && lastLine) stream.write(`rag: Redis at ${redactUrl(o.url)} is back after ${Math.round((Date.now() - downSince) / 1000)} s; continuing\n`);
    downSince = undefined;
    lastLine = 0;
  };
  conn.on('close', onDown);
  conn.on('reconnecting', onDown);
  conn.on('error', onError);
  conn.on('ready', onReady);
  const timer = setInterval(() => {
    if (downSince === undefined) return;
    const now = Date.now();
    if (now - downSince < warnAfter || (lastLine && now - lastLine < repeat)) return;
    lastLine = now;
    stream.write(`rag: waiting for Redis at ${redactUrl(o.url)}: unreachable for ${Math.round((now - downSince) / 1000)} s${lastError ? ` (${lastError})` : ''}; start it again and this command continues, or press Ctrl-C (a re-run resumes)\n`);
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    conn.off('close', onDown);
    conn.off('reconnecting', onDown);
    conn.off('error', onError);
    conn.off('ready', onReady);
  };
}
