import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConditionalWritesUnsupportedError, ObjectNotFoundError, StorageError, UsageError, redactUrl, sha256 } from '@rag/core';
import { assertValidKey, assertValidPrefix, compareKeys } from './object-key.js';
import type { ObjectInfo, ObjectStore, PutResult } from './object-store.js';
import { assertRange } from './local-store.js';
import { classifyS3Error } from './s3-errors.js';
import { PROBE_PREFIX } from './storage-probe.js';

/** Static credentials, for tests and the dev server only; production uses the default AWS provider chain. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading/trailing '/'; '' = bucket root. */
  prefix?: string;
  /** S3-compatible endpoint (MinIO, s3rver, ...); unset = AWS. */
  endpoint?: string;
  region: string;
  /** Path-style addressing; defaults to true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Part size for multipart uploads in MiB (>= 5); files up to this size use a single PUT. */
  multipartMb: number;
  /** Explicit credentials; leave unset to use the AWS chain (env, profile, SSO, instance role). */
  credentials?: S3Credentials;
  /** Total tries per request including the first (SDK retry with backoff). @defaultValue 3 */
  maxAttempts?: number;
  /** TCP connect timeout, so an unreachable endpoint fails in seconds. @defaultValue 3000 */
  connectTimeoutMs?: number;
  /** Socket idle timeout (not a total-duration limit, so big transfers are fine). @defaultValue 120000 */
  socketTimeoutMs?: number;
  /** Parts in flight per multipart upload. @defaultValue 4 */
  uploadConcurrency?: number;
}

const MiB = 1024 * 1024;

function toBuffer(body: Uint8Array | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Strips leading/trailing slashes and validates what is left like a key. */
function normalizeBucketPrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (p !== '') assertValidKey(p);
  return p;
}

/**
 * Objects in an S3 bucket under a prefix, via AWS SDK v3.
 *
 * Checksums are only sent when an API requires them and bodies are Buffers with a known length, so
 * requests are plain (not aws-chunked) uploads: S3-compatible servers such as s3rver would otherwise
 * store the chunk framing as object bytes. The client lives in a private field so that neither
 * JSON.stringify nor util.inspect of the store can reach the credentials.
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  /** Endpoint for messages (password-redacted), or "AWS S3 (<region>)". */
  readonly endpoint: string;
  readonly #client: S3Client;
  readonly #partSize: number;
  readonly #queueSize: number;

  constructor(opts: S3ObjectStoreOptions) {
    if (!opts.bucket || /[/\\]/.test(opts.bucket)) throw new UsageError(`invalid S3 bucket name "${opts.bucket}"`);
    if (!(opts.multipartMb >= 5)) throw new UsageError(`multipart part size must be at least 5 MiB, got ${opts.multipartMb}`);
    this.bucket = opts.bucket;
    this.prefix = normalizeBucketPrefix(opts.prefix);
    this.description = `s3://${this.bucket}${this.prefix ? '/' + this.prefix : ''}`;
    this.endpoint = opts.endpoint ? redactUrl(opts.endpoint).replace(/\/$/, '') : `AWS S3 (${opts.region})`;
    this.#partSize = Math.floor(opts.multipartMb * MiB);
    this.#queueSize = opts.uploadConcurrency ?? 4;
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      maxAttempts: opts.maxAttempts ?? 3,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 3000, socketTimeout: opts.socketTimeoutMs ?? 120_000 },
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.credentials) config.credentials = { ...opts.credentials };
    this.#client = new S3Client(config);
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private fail(err: unknown, op: string, key?: string): Error {
    return classifyS3Error(err, { op, key, bucket: this.bucket, endpoint: this.endpoint, where: this.description });
  }

  async put(key: string, body: Uint8Array | string): Promise<PutResult> {
    const Key = this.fullKey(key);
    const buf = toBuffer(body);
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: buf, ContentLength: buf.byteLength }));
    } catch (err) {
      throw this.fail(err, 'put', key);
    }
    return { key, size: buf.byteLength, sha256: sha256(buf) };
  }

  async putFile(key: string, path: string): Promise<PutResult> {
    const Key = this.fullKey(key);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      throw new UsageError(`cannot upload ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    if (size <= this.#partSize) return this.put(key, await readFile(path));

    // Hash while streaming so the file is read once; lib-storage cuts the stream into Buffer parts.
    const hash = createHash('sha256');
    let seen = 0;
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of createReadStream(path, { highWaterMark: MiB })) {
        hash.update(chunk as Buffer);
        seen += (chunk as Buffer).byteLength;
        yield chunk as Buffer;
      }
    }
    try {
      const upload = new Upload({
        client: this.#client,
        params: { Bucket: this.bucket, Key, Body: Readable.from(hashed()), ContentLength: size },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw this.fail(err, 'put', key);
    }
    if (seen !== size) {
      throw new StorageError(`file ${path} changed size during upload (${size} -> ${seen} bytes)`, { hint: 'do not modify files while they upload' });
    }
    return { key, size, sha256: hash.digest('hex') };
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    await this.assertConditionalWrites();
    return this.putIfNoneMatch(this.fullKey(key), key, toBuffer(body));
  }

  /**
   * One PUT with If-None-Match: *, which the server refuses (412) when the key exists. An SDK retry of
   * a PUT that did commit (its answer was lost) gets 412 for its own write: the stored bytes tell, and
   * bodies that decide ownership (leases, alias claims, manifests) carry a writer token, so equal bytes
   * mean this call's write.
   */
  private async putIfNoneMatch(Key: string, key: string, buf: Buffer): Promise<boolean> {
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: buf, ContentLength: buf.byteLength, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) {
        const stored = await this.get(key).catch(() => undefined);
        return stored !== undefined && stored.equals(buf);
      }
      throw this.fail(err, 'put', key);
    }
  }

  #conditional?: Promise<void>;

  /**
   * Probes, once per store, that the server refuses a second create of one key. Servers that ignore
   * If-None-Match (s3rver on its own, some older S3-API servers) would let two writers both "create"
   * a lease, an alias version or a manifest: the operations that need it are refused instead.
   */
  assertConditionalWrites(): Promise<void> {
    this.#conditional ??= (async () => {
      const key = `${PROBE_PREFIX}if-none-match-${randomBytes(8).toString('hex')}`;
      const Key = this.fullKey(key);
      try {
        const first = await this.putIfNoneMatch(Key, key, Buffer.from('first\n'));
        const second = await this.putIfNoneMatch(Key, key, Buffer.from('second\n'));
        if (!first || second) {
          throw new ConditionalWritesUnsupportedError(
            `storage ${this.description} at ${this.endpoint} ignores conditional writes (If-None-Match: *): build leases, alias flips and publishing need them`,
            { hint: 'use AWS S3, MinIO, Cloudflare R2 or `./rag dev s3` (whose server enforces them); see docs/reliability.md' },
          );
        }
      } finally {
        await this.delete(key).catch(() => undefined);
      }
    })();
    // A failed probe (endpoint down) is tried again by the next call; an unsupported server stays refused.
    this.#conditional.catch((err) => { if (!(err instanceof ConditionalWritesUnsupportedError)) this.#conditional = undefined; });
    return this.#conditional;
  }

  private async getBody(key: string): Promise<Readable> {
    const Key = this.fullKey(key);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!res.Body) throw new StorageError(`S3 returned no body for ${key} in ${this.description}`);
      return res.Body as Readable;
    } catch (err) {
      throw this.fail(err, 'get', key);
    }
  }

  async get(key: string): Promise<Buffer> {
    return this.readAll(await this.getBody(key), key);
  }

  private async readAll(body: Readable, key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunk as Buffer);
    } catch (err) {
      throw this.fail(err, 'get', key);
    }
    return Buffer.concat(chunks);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    assertRange(start, end);
    if (end === start) return Buffer.alloc(0);
    const Key = this.fullKey(key);
    let body: Readable;
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${start}-${end - 1}` }));
      if (!res.Body) throw new StorageError(`S3 returned no body for ${key} in ${this.description}`);
      body = res.Body as Readable;
    } catch (err) {
      throw this.fail(err, 'get', key);
    }
    return this.readAll(body, key);
  }

  /** Bytes [start, end) of an object as a stream (a ranged GET; nothing is buffered). */
  async getRangeStream(key: string, start: number, end: number): Promise<Readable> {
    assertRange(start, end);
    if (end === start) return Readable.from([]);
    const Key = this.fullKey(key);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${start}-${end - 1}` }));
      if (!res.Body) throw new StorageError(`S3 returned no body for ${key} in ${this.description}`);
      return res.Body as Readable;
    } catch (err) {
      throw this.fail(err, 'get', key);
    }
  }

  async getToFile(key: string, path: string): Promise<void> {
    const dest = resolve(path);
    const body = await this.getBody(key);
    await mkdir(dirname(dest), { recursive: true });
    // Temp name next to the destination, renamed at the end: a failed download leaves nothing behind.
    const tmp = join(dirname(dest), `.${basename(dest)}.part-${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(body, createWriteStream(tmp));
      await rename(tmp, dest);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw this.fail(err, 'get', key);
    }
  }

  async getStream(key: string): Promise<NodeJS.ReadableStream> {
    return this.getBody(key);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const Key = this.fullKey(key);
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: Number(res.ContentLength ?? 0), modifiedMs: res.LastModified ? res.LastModified.getTime() : 0 };
    } catch (err) {
      const e = this.fail(err, 'stat', key);
      if (e instanceof ObjectNotFoundError) return null;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.fullKey(key);
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return true;
    } catch (err) {
      const e = this.fail(err, 'stat', key);
      // HEAD responses have no body, so a missing bucket also reads as 404 here.
      if (e instanceof ObjectNotFoundError) return false;
      throw e;
    }
  }

  /**
   * Full bucket keys under the store prefix + `prefix`, all pages.
   *
   * Uses ListObjects (v1) paged by Marker = last key seen: every S3 implementation supports it, whereas
   * s3rver's v2 continuation tokens use DES, which Node >= 17 (OpenSSL 3) no longer has, so any v2
   * listing of more than 1000 keys fails there with InternalError.
   */
  private async listFull(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const Prefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    const keys: string[] = [];
    let Marker: string | undefined;
    for (;;) {
      let res;
      try {
        res = await this.#client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: Prefix || undefined, Marker }));
      } catch (err) {
        throw this.fail(err, 'list', prefix);
      }
      const page = (res.Contents ?? []).map((o) => o.Key).filter((k): k is string => k !== undefined);
      keys.push(...page);
      if (!res.IsTruncated) break;
      const last = res.NextMarker ?? page[page.length - 1];
      if (last === undefined || last === Marker) {
        throw new StorageError(`S3 list ${prefix} in ${this.description}: server reported more keys but gave no way to continue`);
      }
      Marker = last;
    }
    return keys;
  }

  async list(prefix: string): Promise<string[]> {
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    return (await this.listFull(prefix)).map((k) => k.slice(strip)).sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      const e = this.fail(err, 'delete', key);
      if (e instanceof ObjectNotFoundError) return;
      throw e;
    }
  }

  async deleteIfUnmodifiedSince(key: string, sinceMs: number): Promise<boolean> {
    const info = await this.head(key);
    if (!info || info.modifiedMs > sinceMs) return false;
    await this.delete(key);
    return true;
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') throw new UsageError('refusing to delete every object in the store (empty prefix)');
    const keys = await this.listFull(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let res;
      try {
        res = await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
      } catch (err) {
        throw this.fail(err, 'delete-prefix', prefix);
      }
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw this.fail({ name: first.Code, message: first.Message }, 'delete', first.Key?.slice(this.prefix ? this.prefix.length + 1 : 0));
      }
    }
    return keys.length;
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
