import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The token a request presents: `Authorization: Bearer <token>`, or the password of HTTP basic auth (what a browser sends after its prompt). */
export function presentedToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const [scheme, value = ''] = h.split(' ', 2);
  if (/^bearer$/i.test(scheme ?? '')) return value.trim();
  if (/^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/**
 * Every request that can change something (any method but GET/HEAD/OPTIONS: Bull Board's retry,
 * clean, add, edit, empty, pause) needs the admin token; without a configured token there are none
 * to be had, so the dashboard is read-only. Reads stay open, as the JSON API and /metrics are.
 * Digests are compared in constant time, so response timing does not leak the token.
 */
export function requireAdminForWrites(adminToken: string | undefined) {
  const want = adminToken ? digest(adminToken) : undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (SAFE_METHODS.has(req.method)) return next();
    if (!want) {
      res.status(403).json({
        error: 'READ_ONLY',
        message: 'this coordinator is read-only: changing queues and jobs is disabled',
        hint: 'start the coordinator with RAG_ADMIN_TOKEN set (16+ characters) and send it as "Authorization: Bearer <token>"',
      });
      return;
    }
    const got = presentedToken(req);
    if (got !== undefined && timingSafeEqual(digest(got), want)) return next();
    res.status(401).set('WWW-Authenticate', 'Basic realm="rag coordinator admin", charset="UTF-8"').json({
      error: 'UNAUTHORIZED',
      message: 'changing queues and jobs needs the admin token',
      hint: 'send RAG_ADMIN_TOKEN as "Authorization: Bearer <token>" (or as the password when the browser asks)',
    });
  };
}
