import { UnrecoverableError } from 'bullmq';
import { RagError } from '@rag/core';

/**
 * The one place where our typed errors meet BullMQ: non-retryable errors become
 * UnrecoverableError (fail now, no further attempts); the code travels in the message
 * so that the CLI can show the reason of the failed child job.
 */
export function toQueueError(err: unknown): Error {
  // BullMQ's own control flow (a job moving to waiting-children or delayed) passes through as it is.
  if (err instanceof Error && BULLMQ_CONTROL.has(err.name)) return err;
  const rag = RagError.from(err);
  const text = `[${rag.code}] ${rag.oneLine()}`;
  if (!rag.retryable && rag.code !== 'INTERNAL') return new UnrecoverableError(text);
  const e = new Error(text);
  e.stack = rag.stack;
  return e;
}

const BULLMQ_CONTROL = new Set(['WaitingChildrenError', 'DelayedError', 'WaitingError', 'RateLimitError']);

/** Runs a processor body, translating thrown errors at the boundary. */
export async function withErrorBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toQueueError(err);
  }
}
