// A node:test reporter that writes one JSON line per finished test (name, depth, ms, outcome), which
// run-tests.ts reads back for its timing table. Used beside the spec reporter, never instead of it.
import type { TestEvent } from 'node:test/reporters';

export default async function* testEventsReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data as { name: string; nesting: number; skip?: unknown; todo?: unknown; details: { duration_ms?: number; type?: string; error?: { failureType?: string } } };
    const skipped = d.skip !== undefined && d.skip !== false;
    yield JSON.stringify({
      name: d.name,
      nesting: d.nesting,
      suite: d.details.type === 'suite',
      ms: Math.round(d.details.duration_ms ?? 0),
      outcome: skipped ? 'skip' : d.todo !== undefined && d.todo !== false ? 'todo' : event.type === 'test:pass' ? 'pass' : 'fail',
      ...(skipped && typeof d.skip === 'string' ? { reason: d.skip } : {}),
      ...(event.type === 'test:fail' && d.details.error?.failureType ? { failure: d.details.error.failureType } : {}),
    }) + '\n';
  }
}
