import cliProgress from 'cli-progress';
import type { BuildProgress } from '@rag/pipeline';

/**
 * Progress per stage: a bar each for passages, vectors and shards on a terminal; a line
 * every few seconds otherwise (CI logs, redirected stderr).
 */
export class BuildProgressView {
  private multi?: cliProgress.MultiBar;
  private bars?: { passages: cliProgress.SingleBar; vectors: cliProgress.SingleBar; shards: cliProgress.SingleBar };
  private lastLine = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly enabled = true) {
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
    } else if (Date.now() - this.lastLine > 5000) {
      this.lastLine = Date.now();
      this.stream.write(`progress: passages ${p.passages}${p.ingestDone ? ' (ingest done)' : ''}, vectors ${p.vectors}, shards indexed ${p.shardsIndexed}/${p.totalShards || '?'}\n`);
    }
  }

  stop(): void {
    this.multi?.stop();
  }
}
