import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Lines spooled to a local temporary file: what a stage writes once per page (the page table) stays
 * off the heap, so a build's memory does not grow with the corpus. Read back in order with lines().
 */
export class TempLines {
  private out: WriteStream;
  count = 0;

  private constructor(readonly dir: string, readonly path: string) {
    this.out = createWriteStream(path);
  }

  static async create(prefix = 'rag-lines-'): Promise<TempLines> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    return new TempLines(dir, join(dir, 'lines'));
  }

  async write(line: string): Promise<void> {
    this.count++;
    if (!this.out.write(line)) await new Promise<void>((res) => this.out.once('drain', () => res()));
  }

  async close(): Promise<void> {
    await new Promise<void>((res, rej) => this.out.end((err?: Error | null) => (err ? rej(err) : res())));
  }

  async *lines(): AsyncGenerator<string> {
    for await (const line of createInterface({ input: createReadStream(this.path), crlfDelay: Infinity })) if (line !== '') yield line;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
