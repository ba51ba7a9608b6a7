import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { RagError, type Logger } from '@rag/core';

export interface MetricsServerOptions {
  /** 0 = any free port (the bound one is reported back). */
  port: number;
  /** @defaultValue "127.0.0.1" */
  host?: string;
  registry: Registry;
  logger?: Logger;
}

export interface MetricsServer {
  port: number;
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (Prometheus text format) and GET /healthz from a plain node:http server. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => void handle(req, res, opts));
  const port = await listen(server, opts.port, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Not under a "url" key: the logger redacts those (they may carry credentials).
  opts.logger?.info({ event: 'metrics.listening', host, port }, 'serving /metrics');
  return { port, url, close: () => closeServer(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/metrics') {
    await sendMetrics(res, opts.registry, opts.logger);
  } else if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
  }
}

/** Writes the registry in the Prometheus text format; a failing collector is a 500, not a crash. */
export async function sendMetrics(res: ServerResponse, registry: Registry, logger?: Logger): Promise<void> {
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  } catch (err) {
    logger?.warn({ event: 'metrics.collect-failed', err: RagError.from(err).oneLine() }, 'cannot collect metrics');
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${(err as Error).message}\n`);
  }
}

/** Binds, turning EADDRINUSE into a RagError with a hint. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new RagError('HTTP_LISTEN', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
        cause: err,
        hint: err.code === 'EADDRINUSE' ? 'another process uses that port; choose another (0 picks a free one)' : undefined,
      }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
