/**
 * How long `rag world generate` takes at the default size (300 countries, 1,500 questions) and at 40
 * countries, in one process: the figure the unit test no longer bounds in seconds (it checks the ratio).
 *
 *   node --import tsx bench/world-generate.ts [--repeat 3] [--seed 3]
 *
 * Prints one JSON object: per size the best and median total of --repeat runs (after one warm-up run of
 * each size) and the best run's stage split, the ratio of the two sizes, the CPU and the load average.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateWorld, WORLD_DEFAULTS } from '@rag/world';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, seed: { type: 'string', default: '3' } } });
const repeat = Number(values.repeat);
const seed = Number(values.seed);
const root = mkdtempSync(join(tmpdir(), 'bench-world-'));
const sizes = [
  { countries: WORLD_DEFAULTS.countries, questions: WORLD_DEFAULTS.questions },
  { countries: 40, questions: 200 },
];

try {
  const runs = sizes.map(() => [] as { model: number; questions: number; dumps: number; total: number }[]);
  let n = 0;
  for (let r = 0; r <= repeat; r++) {
    for (const [i, size] of sizes.entries()) {
      const out = join(root, String(n++));
      const { timingsMs } = await generateWorld({ seed, outDir: out, ...size });
      rmSync(out, { recursive: true, force: true });
      if (r > 0) runs[i]!.push(timingsMs);
    }
  }
  const stats = sizes.map((size, i) => {
    const totals = runs[i]!.map((t) => t.total).sort((a, b) => a - b);
    const best = runs[i]!.find((t) => t.total === totals[0])!;
    return { ...size, bestMs: Math.round(totals[0]!), medianMs: Math.round(totals[Math.floor(totals.length / 2)]!), bestStagesMs: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, Math.round(v)])) };
  });
  console.log(JSON.stringify({
    bench: 'world-generate', seed, repeat,
    sizes: stats,
    ratioBest: Math.round((stats[0]!.bestMs / stats[1]!.bestMs) * 100) / 100,
    cpu: cpus()[0]?.model, loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  }, null, 2));
} finally {
  rmSync(root, { recursive: true, force: true });
}
