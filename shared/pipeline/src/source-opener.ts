import type { StorageConfig } from '@rag/config';
import { fileSource, type ByteSource } from '@rag/corpus';
import { S3SourceOpener, type S3Credentials } from '@rag/storage';

/** Opens a build's source: `s3://bucket/key` through the S3 API (storage settings, AWS chain), anything else as a local path. */
export interface SourceOpener {
  open(path: string): Promise<ByteSource>;
  close(): Promise<void>;
}

export function createSourceOpener(storage: StorageConfig, credentials?: S3Credentials): SourceOpener {
  const s3 = new S3SourceOpener(storage, credentials);
  return {
    open: async (path) => (path.startsWith('s3://') ? s3.open(path) : fileSource(path)),
    close: () => s3.close(),
  };
}
