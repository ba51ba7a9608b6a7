import { loadConfig, type AppConfig } from '@rag/config';
import { createLogger, type Logger } from '@rag/core';
import { createObjectStore, type ObjectStore } from '@rag/storage';

export interface Runtime {
  config: AppConfig;
  logger: Logger;
  store: ObjectStore;
}

/** Config is read and validated once, here; everything else receives it. */
export function createRuntime(overrides: { storage?: string; encoder?: string } = {}): Runtime {
  const env = { ...process.env };
  // The CLI is quiet by default (progress bars and results); RAG_LOG_LEVEL=info shows the logs.
  if (!env.RAG_LOG_LEVEL) env.RAG_LOG_LEVEL = 'warn';
  const config = loadConfig(env, overrides);
  const logger = createLogger({ service: 'cli', level: config.log.level });
  return { config, logger, store: createObjectStore(config.storage) };
}
