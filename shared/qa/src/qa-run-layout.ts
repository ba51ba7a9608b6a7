/** Object keys of a question-answering run: inputs, per-chunk results, and the run manifest. */
export class QaRunLayout {
  constructor(readonly runId: string) {}

  get root(): string {
    return `qa-runs/${this.runId}`;
  }

  get manifest(): string {
    return `${this.root}/run.json`;
  }

  questions(chunk: number): string {
    return `${this.root}/questions/${pad(chunk)}.jsonl`;
  }

  /** Written once per chunk (put-if-absent): its presence means "done, skip on resume". */
  results(chunk: number): string {
    return `${this.root}/results/${pad(chunk)}.jsonl`;
  }

  get resultsPrefix(): string {
    return `${this.root}/results/`;
  }
  /** The chunk number of a key under resultsPrefix, or undefined for anything else. */
  chunkOfResults(key: string): number | undefined {
    const m = /\/results\/(\d{5,})\.jsonl$/.exec(key);
    return m && key.startsWith(this.resultsPrefix) ? Number(m[1]) : undefined;
  }
  jobId(chunk: number): string {
    return `qa.${this.runId}.c${pad(chunk)}`;
  }
}

function pad(n: number): string {
  return String(n).padStart(5, '0');
}
