// The `./rag` command line: parses flags, calls the libraries, prints results.
import '@rag/core/quiet-warnings';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { RagError } from '@rag/core';
import { applyUsageConventions } from './usage-conventions.js';
import { installInterruptHandlers, interruptedBy } from './interrupt.js';
import { DEFAULT_ENCODE_PART, DEFAULT_SHARD_SIZE, DEFAULT_WORDS_PER_PASSAGE } from './build-defaults.js';

// Commands load their libraries (ONNX Runtime, FAISS, the AWS SDK) only when they run, so --help is instant.

function int(name: string, min = 0) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function num(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return n;
  };
}

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The command tree; exported so that tests can walk every command and option. */
export const program = new Command('rag')
  .description('Retrieval-Augmented Generation over Wikipedia as a distributed batch pipeline.\n' +
    'Config from env: REDIS_URL (unset = private embedded redis), RAG_STORAGE (dir or s3://bucket/prefix), AWS_*; see docs/configuration.md')
  .version(version, '-V, --version', 'print the version')
  .enablePositionalOptions();

const snapshot = program.command('snapshot').description('build and inspect snapshots (passages + sharded FAISS + manifest)');

snapshot.command('build')
  .description('build and publish a snapshot from a dump (exits 0 when published)')
  .requiredOption('--source <path>', 'MediaWiki XML dump (.xml or .xml.bz2, multistream too), DPR psgs_w100.tsv, or JSONL {id?,title,text}; a local path or s3://bucket/key')
  .requiredOption('--snapshot <id>', 'snapshot id: [a-z0-9][a-z0-9._-]*')
  .addOption(new Option('--format <format>', 'source format (default: detected)').choices(['wikixml', 'dpr-tsv', 'jsonl']))
  .option('--workers <n>', 'local worker processes (embedded default 2; with REDIS_URL default 0: use ./rag worker)', int('--workers', 0))
  .option('--shard-size <n>', 'passages per shard', int('--shard-size', 1), DEFAULT_SHARD_SIZE)
  .addOption(new Option('--index <kind>', 'FAISS index (default: auto = exact Flat while the Flat vectors fit --flat-budget-mb, else ivfpq; ivfpq = one IVF-PQ quantizer trained for the whole snapshot, exact re-rank; ivfpq-shard = one per shard, the older layout; with --base: the base\'s index)').choices(['auto', 'flat', 'hnsw', 'ivf', 'ivfpq', 'ivfpq-shard']))
  .option('--encode-part <n>', 'passages per encode job: larger shards are encoded by several jobs that any worker takes, so every worker has work whatever the shard count (0: one job per shard)', int('--encode-part', 0), DEFAULT_ENCODE_PART)
  .option('--encoder <dir>', 'passage encoder in the Optimum ONNX layout (default: models/all-MiniLM-L6-v2)')
  .option('--words <n>', 'words per passage', int('--words', 1), DEFAULT_WORDS_PER_PASSAGE)
  .option('--nlist <n>', 'IVF, IVF-PQ: number of lists (default: ivfpq the power of two nearest 4*sqrt(passages); ivf ~4*sqrt(shard); ivfpq-shard ~sqrt(shard))', int('--nlist', 1))
  .option('--nprobe <n>', 'IVF, IVF-PQ: lists probed per query (default: ivfpq 64 whatever the size, a query then scans about sqrt(passages) codes; ivf 16; ivfpq-shard 64 per shard)', int('--nprobe', 1))
  .option('--pq-m <n>', 'IVF-PQ: bytes per vector (sub-quantizers; must divide the dim; default dim/4)', int('--pq-m', 1))
  .option('--pq-bits <n>', 'IVF-PQ: bits per sub-quantizer code, 4 to 8 (default 8; training needs 39 * 2^bits passages)', int('--pq-bits', 4))
  .option('--retrain', 'ivfpq with --base: train a new quantizer instead of reusing the base\'s (kept shards are indexed again from their embeddings; default: reuse, and report how well it fits)')
  .option('--quantizer-from <id|alias>', 'ivfpq: encode every shard with this published snapshot\'s quantizer instead of training one (default: the base\'s with --base, else train)')
  .option('--rerank <n>', 'IVF-PQ: approximate candidates per result re-scored exactly from the stored embeddings (default 32)', int('--rerank', 1))
  .option('--flat-budget-mb <n>', 'auto: memory for Flat vectors above which IVF-PQ is built (default 1024)', int('--flat-budget-mb', 1))
  .option('--hnsw-m <n>', 'HNSW: neighbours per node (default: 32)', int('--hnsw-m', 2))
  .option('--ef-search <n>', 'HNSW: search breadth (default: 64)', int('--ef-search', 1))
  .option('--base <id|alias>', 'incremental: reuse the unchanged pages, embeddings and shards of this published snapshot (same encoder and index options; default: a full build)')
  .option('--skip-bad-lines', 'JSONL: skip lines that are not valid records, count and report them (default: the first fails the build, naming its line)')
  .option('--ingest-jobs <n>', 'multistream .bz2 dumps: split ingest into up to N byte-range jobs (default: the number of workers; 1 = one job)', int('--ingest-jobs', 1))
  .option('--multistream-index <path>', "Wikipedia's …-multistream-index.txt.bz2 (default: found beside the dump by that name; else stream boundaries are scanned)")
  .option('--wait-for-workers', 'distributed mode: wait for workers without end (default: stop after RAG_NO_WORKER_WAIT_S, 120 s; the build stays queued)')
  .option('--json', 'print the manifest as JSON when published')
  .option('--no-progress', 'no progress bars')
  .action(async (o) => {
    const { snapshotBuild } = await import('./commands/snapshot-build.js');
    const m = await snapshotBuild(o);
    if (o.json) process.stdout.write(JSON.stringify(m, null, 2) + '\n');
    else {
      process.stdout.write(`published ${m.id}: ${m.passages} passages, ${m.vectors} vectors x ${m.dim}, ${m.shards.length} shard(s), ${(m.build.durationMs / 1000).toFixed(1)} s\n`);
      const read = await import('./commands/snapshot-read.js');
      const work = read.workSummary(m);
      if (work) process.stdout.write(`work: ${work}\n`);
      if (m.base) process.stdout.write(`base: ${read.baseSummary(m.base)}\n`);
    }
  });

snapshot.command('list').description('list published snapshots').option('--json', 'JSON output').action(async (o) => (await import('./commands/snapshot-read.js')).snapshotList(o));
snapshot.command('show').description('show a snapshot manifest').argument('<id>').option('--json', 'the manifest as JSON').action(async (id, o) => (await import('./commands/snapshot-read.js')).snapshotShow(id, o));
snapshot.command('passages').description('print passages as JSONL {id,title,text}').argument('<id>')
  .option('--limit <n>', 'at most N passages (default: all)', int('--limit', 0))
  .option('--offset <m>', 'skip the first M passages', int('--offset', 0), 0)
  .action(async (id, o) => (await import('./commands/snapshot-read.js')).snapshotPassages(id, o));

snapshot.command('passage').description('print passages by id as JSONL {id,title,text} (the ids qa run and search print)').argument('<snapshot>', 'snapshot id or alias').argument('<ids...>', 'passage ids, e.g. 664-30')
  .action(async (ref, ids) => (await import('./commands/snapshot-read.js')).snapshotPassage(ref, ids));
snapshot.command('diff').description('pages and passages added, removed and changed from A to B; shards and bytes shared')
  .argument('<a>', 'snapshot id or alias').argument('<b>', 'snapshot id or alias')
  .option('--json', 'JSON output')
  .action(async (a, b, o) => (await import('./commands/snapshot-admin.js')).snapshotDiff(a, b, o));
snapshot.command('rm').description('unpublish a snapshot (refused while an alias points at it); then `snapshot gc` frees its unshared bytes')
  .argument('<id>', 'snapshot id')
  .action(async (id) => (await import('./commands/snapshot-admin.js')).snapshotRm(id));
snapshot.command('gc').description('delete stored objects that no published snapshot and no unfinished build references')
  .option('--dry-run', 'report what would be deleted, delete nothing')
  .option('--grace <hours>', 'delete an unreferenced object only once an earlier gc found it unreferenced at least this long ago (>= 1/6, safe while builds run); 0: one pass, only while no build runs', num('--grace'), 24)
  .option('--json', 'JSON report')
  .action(async (o) => (await import('./commands/snapshot-admin.js')).snapshotGc(o));

const alias = program.command('alias').description('named pointers to published snapshots (prod -> enwiki-2018): one atomic flip, hot-swapped into running workers');
alias.command('set')
  .description('point NAME at a published snapshot; prints the new record (with REDIS_URL, workers hear it at once)')
  .argument('<name>', 'alias name: [a-z0-9][a-z0-9._-]*')
  .argument('<snapshot>', 'published snapshot id')
  .option('--expect-version <n>', 'flip only if the alias is at this version now (0 = must not exist yet; default: flip whatever the version)', int('--expect-version', 0))
  .option('--json', 'print the record as JSON')
  .action(async (name, snap, o) => (await import('./commands/alias.js')).aliasSet(name, snap, o));
alias.command('list').description('list aliases').option('--json', 'JSON array of records').action(async (o) => (await import('./commands/alias.js')).aliasList(o));
alias.command('show').description('show one alias').argument('<name>')
  .option('--history', 'every version it had')
  .option('--json', 'the record (or the history) as JSON')
  .action(async (name, o) => (await import('./commands/alias.js')).aliasShow(name, o));
alias.command('history').description('every version of an alias: when each snapshot served, who flipped it, the gate it passed, and the candidates gates held')
  .argument('<name>')
  .option('--json', 'JSON {versions, gates}')
  .action(async (name, o) => (await import('./commands/alias.js')).aliasHistory(name, o));
alias.command('rollback').description('point NAME back at its previous snapshot').argument('<name>').option('--json', 'print the record as JSON')
  .action(async (name, o) => (await import('./commands/alias.js')).aliasRollback(name, o));
alias.command('resolve').description('print the snapshot id an alias or snapshot id stands for now').argument('<ref>').option('--json', 'JSON {ref,snapshotId,kind,alias?}')
  .action(async (ref, o) => (await import('./commands/alias.js')).aliasResolve(ref, o));

program.command('coordinator')
  .description('dashboard and metrics: Prometheus /metrics, /api/aliases, /api/snapshots, Bull Board at /queues (starts a private Redis without REDIS_URL)')
  .option('--port <n>', 'HTTP port (0 = any free port; default RAG_COORDINATOR_PORT or 9400)', int('--port', 0))
  .option('--host <addr>', 'interface to bind (default RAG_HTTP_HOST or 127.0.0.1)')
  .option('--nightly <file>', 'run the nightly workflow of this configuration on its schedule.cron (BullMQ job scheduler: one run per tick across coordinators; default: no nightly runs)')
  .action(async (o) => (await import('./commands/coordinator.js')).coordinator(o));

program.command('search')
  .description('search a snapshot with a text query')
  .requiredOption('--snapshot <id|alias>', 'snapshot id or alias')
  .requiredOption('--query <text>', 'query text')
  .option('--k <n>', 'results', int('--k', 1), 5)
  .option('--encoder <dir>', 'question encoder (default: the configured encoder; must match the snapshot dimension)')
  .option('--as-of <time>', 'with an alias: the snapshot it served at that moment (ISO time, e.g. 2026-12-07T03:00:00Z; default: what it serves now)')
  .option('--json', 'JSON array [{id,title,text,score}], best first')
  .action(async (o) => (await import('./commands/search.js')).search(o));

program.command('worker')
  .description('run a long-lived pipeline worker (distributed mode: needs REDIS_URL and RAG_STORAGE)')
  .option('--roles <list>', 'comma-separated: ingest,encode,index,generate', 'ingest,encode,index')
  .option('--concurrency <n>', 'jobs at once per queue', int('--concurrency', 1), 1)
  .option('--metrics-port <n>', 'serve Prometheus /metrics on this port (0 = any free port; default: no metrics server)', int('--metrics-port', 0))
  .action(async (o) => {
    const { main } = await import('@rag/worker/main');
    const { onInterrupt, setServerStop } = await import('./interrupt.js');
    setServerStop('the worker finished or released its active jobs; unfinished ones are retried');
    await main(o, { onStop: (stop) => { onInterrupt(stop); } });
  });

program.command('demo')
  .description('the main job on embedded defaults: world 2016/2018 snapshots, RAG answers, alias hot-swap, A/B report, enwiki sample')
  .option('--source <path>', 'enwiki dump (default: ../shared/data/wikipedia/enwiki-2016-sample.xml.bz2)')
  .option('--snapshot <id>', 'enwiki snapshot id', 'enwiki-2016-sample')
  .option('--workers <n>', 'worker processes', int('--workers', 1), 2)
  .option('--seed <n>', 'world seed (held out from training: 100-199)', int('--seed', 0), 142)
  .option('--countries <n>', 'world size', int('--countries', 1), 60)
  .option('--questions <n>', 'world questions', int('--questions', 1), 300)
  .option('--no-enwiki', 'skip the enwiki part')
  .action(async (o) => (await import('./commands/demo.js')).demo(o));

const world = program.command('world').description('the synthetic two-year world (the paper\'s 2016-vs-2018 experiment, reproducible)');
world.command('generate')
  .description('write <out>/<year>/world.xml.bz2 per year, questions.jsonl and world.json; same seed, same bytes')
  .requiredOption('--seed <n>', 'world seed (1-99 training, 100-199 held out)', int('--seed', 0))
  .option('--years <list>', 'comma-separated years', '2016,2018')
  .requiredOption('--out <dir>', 'output directory')
  .option('--countries <n>', 'number of countries', int('--countries', 1), 300)
  .option('--questions <n>', 'number of questions', int('--questions', 1), 1500)
  .option('--json', 'print a JSON summary')
  .action(async (o) => (await import('./commands/world.js')).worldGenerate(o));

const MODES = ['rag-token', 'rag-sequence', 'rag-sequence-fast', 'no-retrieval'];
const qa = program.command('qa').description('answer question batches with RAG on generation workers');
qa.command('run')
  .description('answer a question file; JSONL answers with provenance, EM/F1 when gold exists (BLEU-1/ROUGE-L, Q-BLEU-1, FEVER accuracy for the paper\'s other tasks)')
  .requiredOption('--questions <file>', 'NQ-open JSONL, the world\'s questions.jsonl, DPR-style CSV/TSV, plain text, or MS MARCO NLG / Jeopardy / FEVER JSONL')
  .option('--snapshot <id|alias>', 'snapshot id or alias (workers follow alias flips between chunks; required unless --mode no-retrieval)')
  .option('--as-of <time>', 'with an alias: answer on the snapshot it served at that moment (ISO time; default: what it serves now, following flips)')
  .option('--year <y>', 'gold year for the world\'s questions.jsonl (default: none, so no gold and no EM/F1 for world questions)')
  .option('--limit <n>', 'first N valid questions (default: all)', int('--limit', 1))
  .addOption(new Option('--mode <mode>', 'decoding; retrieve-only: passages with provenance and hits@K, no generation').choices([...MODES, 'retrieve-only']).default('rag-token'))
  .option('--k <n>', 'retrieved passages per question (default 5; retrieve-only: 20)', int('--k', 1))
  .option('--beams <n>', 'beam size', int('--beams', 1), 4)
  .option('--max-length <n>', 'max generated tokens (default: generation_config.json)', int('--max-length', 2))
  .option('--out <file>', 'write answers here: .jsonl (every field), .csv or .tsv (one row per question); a summary .summary.json beside it (default: JSONL on stdout)')
  .option('--with-text', 'put each retrieved passage\'s text into the rows (retrieve-only rows always have it)')
  .option('--wait-for-workers', 'distributed mode: wait for generate workers without end (default: stop after RAG_NO_WORKER_WAIT_S, 120 s)')
  .option('--workers <n>', 'local generation workers (embedded default 2; with REDIS_URL default 0)', int('--workers', 0))
  .option('--type <list>', 'only these question types (world: changing, invariant, multi-fact; default: all)')
  .option('--fresh', 'start a new run instead of continuing an identical earlier one')
  .option('--json', 'stdout: one summary object {n, answered, failed, em, f1, retrieval: {k, hits}, snapshots}')
  .option('--no-progress', 'no progress bar')
  .addHelpText('after', '\nNote: the default generator (models/world-generator) was trained only on the synthetic world (./rag world\n' +
    'generate); on other questions (NQ-open, your own) its answers are not real answers, and a run says so. For those:\n' +
    '  --mode retrieve-only   the top-K passages with provenance, scored by whether a gold answer occurs in them (hits@K, as DPR)\n' +
    '  RAG_GENERATOR=DIR      a BART/T5 export; convert a Hugging Face checkpoint in one command (docs/models.md)')
  .action(async (o) => (await import('./commands/qa.js')).qaRun(o));

program.command('ab')
  .description('the same questions against two snapshots/aliases: EM/F1 per arm, differing answers, HTML report')
  .requiredOption('--questions <file>', 'question file (as for qa run)')
  .requiredOption('--a <id|alias>', 'arm A')
  .requiredOption('--b <id|alias>', 'arm B')
  .requiredOption('--out <file>', 'HTML report path')
  .option('--as-of <time>', 'aliases as they were at that moment (ISO time), for both arms (default: as they are now)')
  .option('--as-of-a <time>', 'arm A\'s alias as it was at that moment (e.g. --a prod --b prod --as-of-a 2026-12-01: prod then vs now; default: --as-of)')
  .option('--as-of-b <time>', 'arm B\'s alias as it was at that moment (default: --as-of)')
  .option('--year-a <y>', 'gold year for arm A (world questions; default: none, no gold)')
  .option('--year-b <y>', 'gold year for arm B (world questions; default: none, no gold)')
  .addOption(new Option('--mode <mode>', 'decoding').choices(MODES).default('rag-token'))
  .option('--k <n>', 'retrieved passages per question', int('--k', 1), 5)
  .option('--beams <n>', 'beam size', int('--beams', 1), 4)
  .option('--limit <n>', 'first N valid questions (default: all)', int('--limit', 1))
  .option('--workers <n>', 'local generation workers (embedded default 2; with REDIS_URL default 0)', int('--workers', 0))
  .option('--answers <prefix>', 'also write <prefix>.a.jsonl and <prefix>.b.jsonl (default: not written)')
  .option('--changed-only', 'only questions whose gold differs between --year-a and --year-b')
  .option('--type <list>', 'only these question types (world: changing, invariant, multi-fact; default: all); --changed-only --type changing is the paper\'s experiment')
  .option('--fresh', 'new runs instead of continuing identical earlier ones')
  .option('--json', 'stdout: {a:{snapshot,n,em,f1}, b:{...}, byType?}')
  .option('--no-progress', 'no progress bars')
  .action(async (o) => { await (await import('./commands/ab.js')).ab(o); });

program.command('sweep-k')
  .description('EM/F1 against the number of retrieved passages K (the paper\'s Figure 3): table and plot')
  .requiredOption('--questions <file>', 'question file')
  .requiredOption('--snapshot <id|alias>', 'snapshot id or alias')
  .option('--k <list>', 'comma-separated K values', '1,2,5,10,20')
  .option('--year <y>', 'gold year for world questions (default: none, no gold)')
  .addOption(new Option('--mode <mode>', 'decoding').choices(MODES.filter((m) => m !== 'no-retrieval')).default('rag-token'))
  .option('--beams <n>', 'beam size', int('--beams', 1), 4)
  .option('--limit <n>', 'first N valid questions (default: all)', int('--limit', 1))
  .option('--out <file>', 'HTML plot (default: .rag/sweep-k.html, under RAG_HOME)')
  .option('--workers <n>', 'local generation workers (embedded default 2; with REDIS_URL default 0)', int('--workers', 0))
  .option('--json', 'JSON rows on stdout')
  .option('--no-progress', 'no progress bars')
  .action(async (o) => (await import('./commands/sweep-k.js')).sweepK(o));

program.command('explain')
  .description('answer one question and show which passage each answer token drew on (HTML + PNG heatmap)')
  .requiredOption('--snapshot <id|alias>', 'snapshot id or alias')
  .requiredOption('--question <text>', 'the question')
  .option('--as-of <time>', 'with an alias: the snapshot it served at that moment (ISO time; default: what it serves now)')
  .addOption(new Option('--mode <mode>', 'decoding').choices(MODES.filter((m) => m !== 'no-retrieval')).default('rag-token'))
  .option('--k <n>', 'retrieved passages', int('--k', 1), 5)
  .option('--beams <n>', 'beam size', int('--beams', 1), 4)
  .option('--html <file>', 'HTML heatmap path (default: .rag/explain.html, under RAG_HOME)')
  .option('--png <file>', 'PNG screenshot path, headless Chromium (default: .rag/explain.png, under RAG_HOME)')
  .option('--no-png', 'skip the PNG')
  .option('--json', 'print the answer record as JSON')
  .action(async (o) => (await import('./commands/explain.js')).explain(o));

program.command('promote')
  .description('the quality gate before a flip: candidate vs what the alias serves on canary questions; pass flips (compare-and-set), hold exits 3')
  .requiredOption('--candidate <id>', 'published snapshot to promote')
  .requiredOption('--alias <name>', 'alias to flip, e.g. prod (absent: created without a gate)')
  .requiredOption('--questions <file>', 'canary questions with gold answers (as for qa run)')
  .option('--year <y>', 'gold year for world questions (default: none)')
  .option('--limit <n>', 'first N valid questions (default: all)', int('--limit', 1))
  .addOption(new Option('--mode <mode>', 'retrieve-only: hits@K, no generator; a RAG mode adds EM/F1').choices(['retrieve-only', 'rag-token', 'rag-sequence', 'rag-sequence-fast']).default('retrieve-only'))
  .option('--k <n>', 'retrieved passages per question', int('--k', 1), 20)
  .option('--beams <n>', 'beam size', int('--beams', 1), 4)
  .option('--max-drop <metric=points...>', 'largest allowed drop per metric in percentage points: hits@K, em, f1', ['hits@20=1'])
  .option('--alpha <p>', 'significance level of the paired tests (McNemar, bootstrap): a drop beyond the limit holds only if significant', num('--alpha'), 0.05)
  .option('--min-questions <n>', 'fewer scored canary questions hold the candidate', int('--min-questions', 1), 50)
  .option('--workers <n>', 'local generation workers (embedded default 2; with REDIS_URL default 0)', int('--workers', 0))
  .option('--json', 'print the gate record as JSON')
  .option('--no-progress', 'no progress bars')
  .action(async (o) => { await (await import('./commands/promote.js')).promote(o); });

const nightly = program.command('nightly').description('the nightly workflow: build tonight on the last night, gate, promote or hold, explain, retain (docs/nightly.md)');
nightly.command('init')
  .description('write a starter nightly configuration (validated; edit it to taste, docs/nightly.md)')
  .requiredOption('--out <file>', 'where to write it, e.g. nightly.json')
  .requiredOption('--alias <name>', 'the alias nights are promoted to, e.g. prod')
  .requiredOption('--snapshot-prefix <id>', 'nights are <prefix>-YYYYMMDD')
  .requiredOption('--source <pattern|folder/>', "tonight's dump: a path or s3:// URL with {yyyymmdd}, or a folder/prefix ending in / (its newest dump)")
  .requiredOption('--questions <file>', 'canary questions with gold answers')
  .option('--year <y>', 'gold year for world questions (default: none)')
  .option('--keep-nights <n>', 'night snapshots kept', int('--keep-nights', 1), 7)
  .option('--gc-grace-hours <h>', 'gc grace after retention removes nights (0: one pass at once)', num('--gc-grace-hours'), 24)
  .option('--cron <pattern>', 'schedule for rag coordinator --nightly, e.g. "0 3 * * *" (UTC; default: none, run it from cron)')
  .option('--force', 'overwrite an existing file')
  .action(async (o) => (await import('./commands/nightly.js')).nightlyInit(o));
nightly.command('run')
  .description('run one night (idempotent, resumable): exit 0 promoted, 3 held by the gate')
  .requiredOption('--config <file>', 'nightly.json or nightly.yaml (docs/nightly.md)')
  .option('--date <day>', 'the night, YYYY-MM-DD (default: today, UTC)')
  .option('--report <file>', 'also write the night\'s HTML report here (default: only in storage)')
  .option('--json', 'print the night record as JSON')
  .option('--no-progress', 'no progress bars')
  .action(async (o) => { process.exitCode = await (await import('./commands/nightly.js')).nightlyRun(o); });
nightly.command('history')
  .description('every night of an alias, newest first: decision, pages changed, passages re-encoded, answers changed, gate')
  .option('--config <file>', 'the nightly configuration (its alias; default: give --alias)')
  .option('--alias <name>', 'the alias (default: the one of --config)')
  .option('--limit <n>', 'newest N nights (default: all)', int('--limit', 1))
  .option('--json', 'JSON array of night records')
  .action(async (o) => (await import('./commands/nightly.js')).nightlyHistory(o));
nightly.command('show')
  .description('one night: its summary and the answers that changed with the edits that caused them')
  .argument('<night>', 'YYYY-MM-DD')
  .option('--config <file>', 'the nightly configuration (its alias; default: give --alias)')
  .option('--alias <name>', 'the alias (default: the one of --config)')
  .option('--html <file>', 'write the night\'s HTML report here (default: none)')
  .option('--json', 'the night record as JSON')
  .action(async (night, o) => (await import('./commands/nightly.js')).nightlyShow(night, o));

const dev = program.command('dev').description('development helpers');
dev.command('s3')
  .description('run a local S3-API server in the foreground')
  .option('--port <n>', 'port (0 = any free port)', int('--port', 0), 9000)
  .option('--dir <dir>', 'data directory', '.rag/s3')
  .option('--bucket <name...>', 'buckets to create at start; the first is the one printed for RAG_STORAGE', ['rag'])
  .action(async (o) => (await import('./commands/dev-s3.js')).devS3(o));
dev.command('upload')
  .description('put a local file (a dump) into an S3 bucket, with the S3 settings of RAG_STORAGE (AWS_ENDPOINT_URL for dev s3)')
  .argument('<file>', 'local file')
  .argument('<url>', 's3://BUCKET/KEY')
  .action(async (file, url) => (await import('./commands/dev-s3.js')).devUpload(file, url));
dev.command('multistream')
  .description("rewrite a MediaWiki XML dump as Wikipedia's pages-articles-multistream layout: a header stream, bzip2 streams of N pages, a trailer, and the …-index.txt.bz2 beside it")
  .argument('<source>', 'MediaWiki XML dump (.xml or .xml.bz2)')
  .requiredOption('--out <path>', 'output dump, ending in .xml.bz2 (the index is written beside it)')
  .option('--pages-per-stream <n>', 'pages per bzip2 stream', int('--pages-per-stream', 1), 100)
  .option('--copies <n>', 'repeat the pages N times under new ids and titles (a bigger dump of real text)', int('--copies', 1), 1)
  .option('--json', 'print the report as JSON')
  .action(async (source, o) => {
    const { makeMultistreamDump } = await import('@rag/corpus');
    const r = await makeMultistreamDump(source, o.out, { pagesPerStream: o.pagesPerStream, copies: o.copies });
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(`wrote ${r.out} (${r.bytes} bytes, ${r.pages} pages in ${r.streams} streams) and ${r.index}\n`);
  });
dev.command('next-night')
  .description("write the next night's dump: a copy with a share of articles edited, added and removed (deterministic per seed)")
  .requiredOption('--source <path>', 'MediaWiki XML dump (.xml/.xml.bz2) or JSONL corpus')
  .requiredOption('--out <path>', 'output file (.bz2 compresses)')
  .option('--seed <n>', 'random seed', int('--seed', 0), 1)
  .option('--edit <share>', 'share of articles edited', num('--edit'), 0.01)
  .option('--add <share>', 'share of articles added (copies under new titles)', num('--add'), 0.005)
  .option('--remove <share>', 'share of articles removed', num('--remove'), 0.005)
  .option('--json', 'print the report as JSON')
  .action(async (o) => {
    const { makeNextNight } = await import('@rag/corpus');
    const r = await makeNextNight(o.source, o.out, { seed: o.seed, edit: o.edit, add: o.add, remove: o.remove });
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(`wrote ${o.out}: of ${r.articles} articles ${r.edited} edited (${r.editKinds.word} word, ${r.editKinds.sentence} sentence), ${r.added} added, ${r.removed} removed\n`);
  });

applyUsageConventions(program);

// Parse only when run as the CLI, not when a test imports the tree.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  installInterruptHandlers();
  // `./rag nightly history | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
  program.parseAsync(process.argv).catch((err: unknown) => {
    // After Ctrl-C/SIGTERM, failures are the stop's own doing (closed connections); the interrupt handler reports and exits.
    if (interruptedBy()) return;
    // --help and --version exit 0; a bare command group has printed its help as a reminder: 2.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    const e = RagError.from(err);
    process.stderr.write(`rag: ${e.oneLine()}\n`);
    if (process.env.RAG_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    // 3: the quality gate held a candidate (a decision, not a failure: schedulers can tell them apart).
    process.exit(e.code === 'USAGE' || e.code === 'CONFIG_INVALID' ? 2 : e.code === 'GATE_HELD' ? 3 : 1);
  });
}
