import cliProgress from 'cli-progress';

/** Questions answered, questions/s and ETA: a bar on a terminal, a line every few seconds otherwise. */
export class QaProgressView {
  private bar?: cliProgress.SingleBar;
  private lastLine = 0;
  private readonly started = Date.now();
  private firstDone = -1;

  constructor(private readonly label: string, private readonly total: number, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly enabled = true) {
    if (enabled && stream.isTTY) {
      this.bar = new cliProgress.SingleBar({
        stream,
        format: ` ${label} |{bar}| {value}/{total} questions | {rate} q/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 20,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total, 0, { rate: '0.0' });
    }
  }

  update(done: number): void {
    if (!this.enabled) return;
    if (this.firstDone < 0) this.firstDone = done; // resumed questions do not count toward the rate
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? (done - this.firstDone) / secs : 0;
    if (this.bar) {
      this.bar.update(done, { rate: rate.toFixed(1) });
    } else if (Date.now() - this.lastLine > 5000 || done >= this.total) {
      this.lastLine = Date.now();
      const eta = rate > 0 ? Math.round((this.total - done) / rate) : NaN;
      this.stream.write(`${this.label}: ${done}/${this.total} questions, ${rate.toFixed(1)} q/s${Number.isFinite(eta) ? `, ETA ${eta}s` : ''}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
