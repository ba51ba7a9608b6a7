import { mkdir } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import S3rver from 's3rver';
import { StorageError } from '@rag/core';

export interface S3DevServerOptions {
  /** 0 = pick a free ephemeral port (the bound one is reported back). */
  port: number;
  /** Where s3rver keeps buckets and objects. */
  dir: string;
  /** Buckets to create at start-up. */
  buckets?: string[];
  /** Suppress s3rver's per-request console logging. @defaultValue true */
  silent?: boolean;
  /** @defaultValue "127.0.0.1" (loopback only) */
  host?: string;
  /** Called for every request (method, path+query, headers), e.g. for verbose CLI output or tests. */
  onRequest?: (req: { method: string; url: string; headers: IncomingHttpHeaders }) => void;
  /**
   * Refuse a PUT with If-None-Match: * on an existing key (412), as AWS S3 and MinIO do; s3rver alone
   * ignores the header. Off only in tests of the store's probe for servers that ignore it. @defaultValue true
   */
  conditionalWrites?: boolean;
}

export interface S3DevServer {
  port: number;
  /** e.g. "http://127.0.0.1:4568"; use with path-style addressing. */
  endpoint: string;
  /**
   * s3rver accepts exactly one fixed, public key pair (S3RVER / S3RVER); these are not secrets.
   * Clients export them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
   */
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/** Starts s3rver, a real S3-API server on the local filesystem, for development and tests. */
export async function startS3DevServer(opts: S3DevServerOptions): Promise<S3DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const server = new S3rver({
    address: host,
    port: opts.port,
    directory: dir,
    silent: opts.silent ?? true,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  if (opts.conditionalWrites !== false) enforceIfNoneMatch(server);
  let addr: AddressInfo;
  try {
    addr = (await server.run()) as AddressInfo;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StorageError(`cannot start S3 dev server on ${host}:${opts.port}: ${code ?? (err as Error).message}`, {
      cause: err,
      hint: code === 'EADDRINUSE' ? 'choose another --port (0 picks a free one)' : undefined,
    });
  }
  const onRequest = opts.onRequest;
  if (onRequest) {
    server.httpServer?.on('request', (req: { method?: string; url?: string; headers: IncomingHttpHeaders }) =>
      onRequest({ method: req.method ?? '', url: req.url ?? '', headers: req.headers }),
    );
  }
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
  return {
    port: addr.port,
    endpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    close: async () => {
      await server.close();
    },
  };
}

interface KoaContext {
  method: string;
  url: string;
  get(header: string): string;
  status: number;
  type: string;
  body: unknown;
}

/**
 * Puts a create-if-absent in front of s3rver's routes: a PUT with If-None-Match: * on a key that
 * exists gets 412 PreconditionFailed. Such PUTs of one key run one at a time (check and write under
 * one in-process lock), so of two concurrent creators exactly one succeeds, as on AWS S3.
 * Path-style addressing only, which is what clients of the dev server use.
 */
function enforceIfNoneMatch(server: S3rver): void {
  const locks = new Map<string, Promise<unknown>>();
  const app = server as unknown as { middleware: Array<(ctx: KoaContext, next: () => Promise<void>) => Promise<void>>; context: { store: { existsObject(b: string, k: string): Promise<boolean> } } };
  app.middleware.unshift(async (ctx, next) => {
    if (ctx.method !== 'PUT' || ctx.get('if-none-match') !== '*') return next();
    const url = new URL(ctx.url, 'http://dev');
    if (url.searchParams.has('uploadId')) return next();
    const [bucket, ...rest] = url.pathname.slice(1).split('/');
    const key = rest.map(decodeURIComponent).join('/');
    if (!bucket || !key) return next();
    const id = `${bucket}/${key}`;
    const prev = locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(async () => {
      if (await app.context.store.existsObject(bucket, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition><Key>${key.replace(/[<>&]/g, '')}</Key></Error>`;
        return;
      }
      await next();
    });
    locks.set(id, run);
    try {
      await run;
    } finally {
      if (locks.get(id) === run) locks.delete(id);
    }
  });
}
