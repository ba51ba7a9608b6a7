import { resolve } from 'node:path';
import { startS3DevServer } from '@rag/storage';
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
