import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they sit in the object. */
const REDACT = [
  'password', '*.password', 'secret', '*.secret', 'secretAccessKey', '*.secretAccessKey',
  'accessKeyId', '*.accessKeyId', 'sessionToken', '*.sessionToken', 'credentials', '*.credentials',
  'authorization', '*.authorization', 'redisUrl', '*.redisUrl', 'url', '*.url',
  'adminToken', '*.adminToken', 'token', '*.token', 'headers.authorization', 'req.headers.authorization',
];

export interface CreateLoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; defaults to stderr so that stdout stays clean for --json output. */
  destination?: NodeJS.WritableStream;
}

/** One pino logger per process; children per job carry {queue, jobId, snapshotId, shardId}. */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: opts.service, pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, (opts.destination ?? process.stderr) as pino.DestinationStream);
}

/** Removes user:password from a URL before it is shown anywhere. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
