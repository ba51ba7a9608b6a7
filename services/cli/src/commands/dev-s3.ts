import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { S3ObjectStore, parseStorageUrl, startS3DevServer } from '@rag/storage';
import { createRuntime } from '../runtime.js';
import { onInterrupt, setServerStop } from '../interrupt.js';

/** A local S3-API server in the foreground, for development and tests. */
export async function devS3(o: { port: number; dir: string; bucket: string[] }): Promise<void> {
  const server = await startS3DevServer({ port: o.port, dir: resolve(o.dir), buckets: o.bucket });
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`S3-API server on ${server.endpoint} (data in ${resolve(o.dir)}), bucket(s): ${o.bucket.join(', ')}`);
  // The exact environment for the first bucket, so that the line can be pasted as it is.
  const { accessKeyId, secretAccessKey } = server.credentials;
  out(`use: AWS_ENDPOINT_URL=${server.endpoint} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} RAG_STORAGE=s3://${o.bucket[0]}/rag`);
  setServerStop(`the objects stay in ${resolve(o.dir)}`);
  onInterrupt(() => server.close());
  await new Promise<never>(() => {});
}

/**
 * `dev upload FILE s3://BUCKET/KEY`: puts a local file (a dump) into a bucket with the same S3 settings
 * as RAG_STORAGE (AWS_ENDPOINT_URL, region, credentials from the AWS chain), multipart for large files;
 * no aws CLI needed to try `snapshot build --source s3://…` against `dev s3`.
 */
export async function devUpload(file: string, url: string): Promise<void> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`${file} is not a file`, { hint: 'give the local file to upload, e.g. a .xml.bz2 dump' });
  const loc = /^s3:\/\//i.test(url) ? parseStorageUrl(url) : undefined;
  if (!loc || loc.kind !== 's3' || !loc.prefix) throw new UsageError(`${url} is not s3://BUCKET/KEY`, { hint: 'e.g. s3://rag/dumps/enwiki-2016-sample.xml.bz2' });
  const { config } = createRuntime();
  const store = new S3ObjectStore({ bucket: loc.bucket, prefix: '', endpoint: config.storage.endpoint, region: config.storage.region, forcePathStyle: config.storage.forcePathStyle, multipartMb: config.storage.multipartMb });
  try {
    await store.putFile(loc.prefix, resolve(file));
    process.stdout.write(`uploaded ${file} (${statSync(file).size} bytes) to s3://${loc.bucket}/${loc.prefix}\n`);
  } finally {
    await store.close();
  }
}
