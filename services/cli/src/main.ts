// The `./rag` command line: parses flags, calls the libraries, prints results.
import '@rag/core/quiet-warnings';
import { Command, InvalidArgumentError, Option } from 'commander';
import { RagError } from '@rag/core';

// Commands load their libraries (ONNX Runtime, FAISS, the AWS SDK) only when they run, so --help is instant.
const DEFAULT_SHARD_SIZE = 2000;

function int(name: string, min = 0) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

const program = new Command('rag')
  .description('Retrieval-Augmented Generation over Wikipedia as a distributed batch pipeline.\n' +
    'Config from env: REDIS_URL (unset = private embedded redis), RAG_STORAGE (dir or s3://bucket/prefix), AWS_*; see docs/configuration.md')
  .showHelpAfterError()
  .enablePositionalOptions();

const snapshot = program.command('snapshot').description('build and inspect snapshots (passages + sharded FAISS + manifest)');

snapshot.command('build')
  .description('build and publish a snapshot from a dump (exits 0 when published)')
  .requiredOption('--source <path>', 'MediaWiki XML dump (.xml or .xml.bz2), DPR psgs_w100.tsv, or JSONL {id?,title,text}')
  .requiredOption('--snapshot <id>', 'snapshot id: [a-z0-9][a-z0-9._-]*')
  .addOption(new Option('--format <format>', 'source format (default: detected)').choices(['wikixml', 'dpr-tsv', 'jsonl']))
  .option('--workers <n>', 'local worker processes (embedded default 2; with REDIS_URL default 0: use ./rag worker)', int('--workers', 0))
  .option('--shard-size <n>', 'passages per shard', int('--shard-size', 1), DEFAULT_SHARD_SIZE)
  .addOption(new Option('--index <kind>', 'per-shard FAISS index').choices(['flat', 'hnsw', 'ivf']).default('flat'))
  .option('--encoder <dir>', 'passage encoder in the Optimum ONNX layout (default: models/all-MiniLM-L6-v2)')
  .option('--words <n>', 'words per passage', int('--words', 1), 100)
  .option('--nlist <n>', 'IVF: number of lists (default ~4*sqrt(n))', int('--nlist', 1))
  .option('--nprobe <n>', 'IVF: lists probed per query', int('--nprobe', 1))
  .option('--hnsw-m <n>', 'HNSW: neighbours per node', int('--hnsw-m', 2))
  .option('--ef-search <n>', 'HNSW: search breadth', int('--ef-search', 1))
  .option('--json', 'print the manifest as JSON when published')
  .option('--no-progress', 'no progress bars')
  .action(async (o) => {
    const { snapshotBuild } = await import('./commands/snapshot-build.js');
    const m = await snapshotBuild(o);
    if (o.json) process.stdout.write(JSON.stringify(m, null, 2) + '\n');
    else process.stdout.write(`published ${m.id}: ${m.passages} passages, ${m.vectors} vectors x ${m.dim}, ${m.shards.length} shard(s), ${(m.build.durationMs / 1000).toFixed(1)} s\n`);
  });

snapshot.command('list').description('list published snapshots').option('--json', 'JSON output').action(async (o) => (await import('./commands/snapshot-read.js')).snapshotList(o));
snapshot.command('show').description('show a snapshot manifest').argument('<id>').option('--json', 'the manifest as JSON').action(async (id, o) => (await import('./commands/snapshot-read.js')).snapshotShow(id, o));
snapshot.command('passages').description('print passages as JSONL {id,title,text}').argument('<id>')
  .option('--limit <n>', 'at most N passages', int('--limit', 0))
  .option('--offset <m>', 'skip the first M passages', int('--offset', 0))
  .action(async (id, o) => (await import('./commands/snapshot-read.js')).snapshotPassages(id, o));

program.command('search')
  .description('search a snapshot with a text query')
  .requiredOption('--snapshot <id>', 'snapshot id')
  .requiredOption('--query <text>', 'query text')
  .option('--k <n>', 'results', int('--k', 1), 5)
  .option('--encoder <dir>', 'question encoder (default: the configured encoder; must match the snapshot dimension)')
  .option('--json', 'JSON array [{id,title,text,score}], best first')
  .action(async (o) => (await import('./commands/search.js')).search(o));

program.command('worker')
  .description('run a long-lived pipeline worker (distributed mode: needs REDIS_URL and RAG_STORAGE)')
  .option('--roles <list>', 'comma-separated: ingest,encode,index', 'ingest,encode,index')
  .option('--concurrency <n>', 'jobs at once per queue', int('--concurrency', 1), 1)
  .action(async (o) => {
    const { main } = await import('@rag/worker/main');
    await main(o);
  });

program.command('demo')
  .description('the main job on embedded defaults: build the 2016 enwiki sample snapshot with 2 workers and query it')
  .option('--source <path>', 'dump to build (default: ../shared/data/wikipedia/enwiki-2016-sample.xml.bz2)')
  .option('--snapshot <id>', 'snapshot id', 'enwiki-2016-sample')
  .option('--workers <n>', 'worker processes', int('--workers', 1), 2)
  .action(async (o) => (await import('./commands/demo.js')).demo(o));

const world = program.command('world').description('the synthetic two-year world (the paper\'s 2016-vs-2018 experiment, reproducible)');
world.command('generate')
  .description('write <out>/<year>/world.xml.bz2 per year, questions.jsonl and world.json; same seed, same bytes')
  .requiredOption('--seed <n>', 'world seed (1-99 training, 100-199 held out)', int('--seed', 0))
  .option('--years <list>', 'comma-separated years', '2016,2018')
  .requiredOption('--out <dir>', 'output directory')
  .option('--countries <n>', 'number of countries', int('--countries', 1))
  .option('--questions <n>', 'number of questions', int('--questions', 1))
  .option('--json', 'print a JSON summary')
  .action(async (o) => (await import('./commands/world.js')).worldGenerate(o));

const dev = program.command('dev').description('development helpers');
dev.command('s3')
  .description('run a local S3-API server in the foreground')
  .option('--port <n>', 'port (0 = any free port)', int('--port', 0), 9000)
  .option('--dir <dir>', 'data directory', '.rag/s3')
  .option('--bucket <name...>', 'buckets to create at start')
  .action(async (o) => (await import('./commands/dev-s3.js')).devS3(o));

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = RagError.from(err);
  process.stderr.write(`rag: ${e.oneLine()}\n`);
  if (process.env.RAG_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(e.code === 'USAGE' || e.code === 'CONFIG_INVALID' ? 2 : 1);
});
