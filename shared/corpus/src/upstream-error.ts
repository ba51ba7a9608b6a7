import { RagError } from '@rag/core';

/** How far past a parse error we read to see whether the layer below fails (a bzip2 block is < 1 MB). */
const DRAIN_LIMIT = 8 << 20;

/**
 * Called when a parser chokes on its input. A corrupt bzip2 block turns into
 * garbage text before bzip2 notices the bad checksum, so the parse error may be
 * a symptom: read a little further and, if the source itself fails, report
 * that (it names the real problem); otherwise report the parse error.
 */
export async function preferUpstreamError(
  upstream: AsyncIterator<{ length: number }>,
  parseError: Error,
): Promise<never> {
  let seen = 0;
  try {
    while (seen < DRAIN_LIMIT) {
      const r = await upstream.next();
      if (r.done) break;
      seen += r.value.length;
    }
  } catch (err) {
    if (err instanceof RagError) throw err;
  }
  throw parseError;
}
