import { resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { generateWorld } from '@rag/world';
import { createRuntime } from '../runtime.js';

/** Writes the synthetic two-year world: <out>/<year>/world.xml.bz2, questions.jsonl, world.json. */
export async function worldGenerate(o: { seed: number; years: string; out: string; countries?: number; questions?: number; json?: boolean }): Promise<void> {
  const { logger } = createRuntime();
  const years = o.years.split(',').map((y) => Number(y.trim()));
  if (years.some((y) => !Number.isInteger(y) || y < 1000 || y > 9999)) throw new UsageError(`--years must be a comma-separated list of years, got ${o.years}`);
  const r = await generateWorld({
    seed: o.seed,
    years,
    outDir: resolve(o.out),
    ...(o.countries !== undefined ? { countries: o.countries } : {}),
    ...(o.questions !== undefined ? { questions: o.questions } : {}),
    logger,
  });
  if (o.json) {
    process.stdout.write(JSON.stringify({ summary: r.summary, files: r.files }, null, 2) + '\n');
    return;
  }
  for (const f of [...Object.values(r.files.dumps), r.files.questions, r.files.summary]) process.stdout.write(`wrote ${f}\n`);
}
