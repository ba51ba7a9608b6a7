import { resolve } from 'node:path';
import { startS3DevServer } from '@rag/storage';
import { onInterrupt, setServerStop } from '../interrupt.js';

/** A local S3-API server in the foreground, for development and tests. */
export async function devS3(o: { port: number; dir: string; bucket?: string[] }): Promise<void> {
  const server = await startS3DevServer({ port: o.port, dir: resolve(o.dir), buckets: o.bucket ?? [] });
  process.stdout.write(`S3-API server on ${server.endpoint} (data in ${resolve(o.dir)})\n`);
  process.stdout.write(`use: AWS_ENDPOINT_URL=${server.endpoint} AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER RAG_STORAGE=s3://BUCKET/prefix\n`);
  setServerStop(`the objects stay in ${resolve(o.dir)}`);
  onInterrupt(() => server.close());
  await new Promise<never>(() => {});
}
