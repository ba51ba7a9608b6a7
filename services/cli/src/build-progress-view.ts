import cliProgress from 'cli-progress';
import type { BuildProgress } from '@rag/pipeline';

/** Redirected output (CI logs, files) gets a line at most this often, besides one per finished stage. */
export const PROGRESS_LINE_INTERVAL_MS = 30_000;

type Stage = 'ingest' | 'encode+index' | 'indexed';

/**
 * Progress per stage: a bar each for passages, vectors and shards on a terminal. Redirected, a few
 * lines: one when ingest and indexing finish, one every 30 s in between, and from `finish` the final
 * state, so that the last line a log shows is where the build ended.
 */
export class BuildProgressView {
  private multi?: cliProgress.MultiBar;
  private bars?: { passages: cliProgress.SingleBar; vectors: cliProgress.SingleBar; shards: cliProgress.SingleBar };
  private lastAt: number;
  private lastLine = '';
  private stage: Stage = 'ingest';

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly enabled = true,
    private readonly now: () => number = Date.now,
  ) {
    this.lastAt = now();
    if (enabled && stream.isTTY) {
      this.multi = new cliProgress.MultiBar({
        stream,
        format: ' {stage} |{bar}| {value}/{total} {unit}',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      this.bars = {
        passages: this.multi.create(1, 0, { stage: 'ingest ', unit: 'passages' }),
        vectors: this.multi.create(1, 0, { stage: 'encode ', unit: 'vectors' }),
        shards: this.multi.create(1, 0, { stage: 'index  ', unit: 'shards' }),
      };
    }
  }

  update(p: BuildProgress): void {
    if (!this.enabled) return;
    const total = Math.max(1, p.ingestDone ? p.passages : p.passages + 1);
    if (this.bars) {
      this.bars.passages.setTotal(total);
      this.bars.passages.update(p.passages);
      this.bars.vectors.setTotal(total);
      this.bars.vectors.update(p.vectors);
      this.bars.shards.setTotal(Math.max(1, p.totalShards || p.shardsIngested));
      this.bars.shards.update(p.shardsIndexed);
    } else {
      const stage: Stage = p.ingestDone && p.shardsIndexed >= p.totalShards ? 'indexed' : p.ingestDone ? 'encode+index' : 'ingest';
      if (stage !== this.stage || this.now() - this.lastAt >= PROGRESS_LINE_INTERVAL_MS) this.writeLine(p);
      this.stage = stage;
    }
  }

  /** The state the build ended in; redirected, printed unless it was the last line already. */
  finish(p: BuildProgress): void {
    if (!this.enabled) return;
    if (this.bars) this.update(p);
    else this.writeLine(p);
  }

  stop(): void {
    this.multi?.stop();
  }

  private writeLine(p: BuildProgress): void {
    // Vectors and shards of the shards this build makes (an incremental build keeps the base's others):
    // `snapshot show` and the line after publishing give the snapshot's totals.
    const line = `progress: passages ${p.passages}${p.ingestDone ? ' (ingest done)' : ''}, vectors ${p.vectors} in shards being built, shards built ${p.shardsIndexed}/${p.totalShards || '?'}`;
    this.lastAt = this.now();
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.stream.write(line + '\n');
  }
}
