import type { Readable } from 'node:stream';
import type { StorageConfig } from '@rag/config';
import { ObjectNotFoundError, UsageError } from '@rag/core';
import { S3ObjectStore, type S3Credentials } from './s3-store.js';

/** An object read as a corpus source: structurally @rag/corpus's ByteSource (storage does not depend on corpus). */
export interface S3Source {
  readonly name: string;
  size(): Promise<number>;
  open(range?: { start: number; end: number }): Promise<Readable>;
}

/** `s3://bucket/key` → bucket and key. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new UsageError(`"${url}" is not an s3://bucket/key URL`, { hint: 'name the object: s3://bucket/path/to/dump.xml.bz2' });
  return { bucket: m[1]!, key: m[2]! };
}

/**
 * Opens `s3://bucket/key` sources through the S3 API with the storage settings (endpoint, region,
 * path style) and the AWS credential chain; one client per bucket, released by close(). Reads are
 * streamed: the whole object, or a byte range of it (a ranged GET per range job).
 */
export class S3SourceOpener {
  readonly #stores = new Map<string, S3ObjectStore>();
  constructor(private readonly cfg: StorageConfig, private readonly credentials?: S3Credentials) {}

  open(url: string): S3Source {
    const { bucket, key } = parseS3Url(url);
    let store = this.#stores.get(bucket);
    if (!store) {
      store = new S3ObjectStore({
        bucket,
        endpoint: this.cfg.endpoint,
        region: this.cfg.region,
        forcePathStyle: this.cfg.forcePathStyle,
        multipartMb: this.cfg.multipartMb,
        credentials: this.credentials,
      });
      this.#stores.set(bucket, store);
    }
    const s = store;
    let size: number | undefined;
    return {
      name: url,
      async size() {
        if (size !== undefined) return size;
        const info = await s.head(key);
        if (!info) {
          // HEAD cannot tell a missing bucket from a missing key; a listing can (NoSuchBucket is its own error).
          await s.list(key);
          throw new ObjectNotFoundError(`source ${url} does not exist (no object "${key}" in bucket "${bucket}" at ${s.endpoint})`, {
            hint: 'check the key (aws s3 ls s3://' + bucket + '/) and AWS_ENDPOINT_URL',
          });
        }
        return (size = info.size);
      },
      async open(range) {
        return range ? s.getRangeStream(key, range.start, range.end) : ((await s.getStream(key)) as Readable);
      },
    };
  }

  async close(): Promise<void> {
    for (const s of this.#stores.values()) await s.close();
    this.#stores.clear();
  }
}
