import { ObjectNotFoundError, RagError, StorageError, TransientStorageError } from '@rag/core';

export interface S3ErrorContext {
  /** What was attempted, e.g. "get" or "list". */
  op: string;
  key?: string;
  bucket: string;
  /** Endpoint URL for messages (already redacted), or "AWS S3". */
  endpoint: string;
  /** The store's description, e.g. "s3://bucket/prefix". */
  where: string;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH',
  'ECONNABORTED', 'EADDRNOTAVAIL', 'UND_ERR_SOCKET',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError']);
const THROTTLE_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException',
  'ServiceUnavailable', 'InternalError', 'RequestThrottled', 'ConditionalRequestConflict',
]);
const AUTH_NAMES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired',
  'CredentialsProviderError', 'AllAccessDisabled', 'AccountProblem',
]);

/** Operations on one key for which a 404 means the object is absent. */
const KEY_READ_OPS = new Set(['get', 'stat', 'delete']);

function isNetworkError(e: SdkErrorLike): boolean {
  if ((e.code && NETWORK_CODES.has(e.code)) || (e.name && NETWORK_NAMES.has(e.name))) return true;
  // Node's happy-eyeballs connect reports an AggregateError over the address family attempts.
  return Array.isArray(e.errors) && e.errors.some((x) => isNetworkError(x as SdkErrorLike));
}

/** Maps an AWS SDK failure onto the project's typed errors, with a hint that says what to do next. */
export function classifyS3Error(err: unknown, ctx: S3ErrorContext): RagError {
  if (err instanceof RagError) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const what = ctx.key === undefined ? `${ctx.op} ${ctx.where}` : `${ctx.op} ${ctx.key} in ${ctx.where}`;
  const detail = e.message && e.message !== name && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  const details = { op: ctx.op, key: ctx.key, bucket: ctx.bucket, endpoint: ctx.endpoint, s3Error: name || e.code, httpStatus: status };

  if (name === 'NoSuchBucket') {
    return new StorageError(`cannot ${what}: bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}`, {
      cause: err, details,
      hint: `create the bucket first (e.g. aws s3 mb s3://${ctx.bucket}) or fix the bucket name in RAG_STORAGE`,
    });
  }
  if (AUTH_NAMES.has(name) || status === 401 || status === 403) {
    return new StorageError(`cannot ${what}: access denied (${name || status})`, {
      cause: err, details,
      hint: 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket policy',
    });
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    // Only key reads can mean "no such object"; a 404 on list/put means the endpoint or bucket is wrong.
    if (KEY_READ_OPS.has(ctx.op) && ctx.key !== undefined) {
      return new ObjectNotFoundError(`object not found: ${ctx.key} in ${ctx.where}`, { cause: err, details });
    }
    return new StorageError(`cannot ${what}: ${ctx.endpoint} answered 404 (${name || 'Not Found'})`, {
      cause: err, details,
      hint: 'check that AWS_ENDPOINT_URL points at an S3 API server and that the bucket exists',
    });
  }
  if (isNetworkError(e)) {
    return new TransientStorageError(`cannot reach S3 endpoint ${ctx.endpoint} (${e.code ?? name})`, {
      cause: err, details,
      hint: 'check that the S3 server is running and AWS_ENDPOINT_URL / the network is right; the operation can be retried',
    });
  }
  if (THROTTLE_NAMES.has(name) || status === 429 || (status !== undefined && status >= 500) || e.$fault === 'server' || e.$retryable) {
    return new TransientStorageError(`S3 ${what} failed temporarily (${name || status})${detail}`, { cause: err, details, hint: 'retry later' });
  }
  return new StorageError(`S3 ${what} failed (${name || e.code || status || 'unknown error'})${detail}`, { cause: err, details });
}
