import { spawn } from 'node:child_process';
import { SaxesParser } from 'saxes';
import { CorruptInputError } from '@rag/core';

/**
 * Reads a world dump back into pages: bzip2 -dc into a strict XML parser (saxes). Used by the tests to prove the
 * files are well-formed and by tools that want the facts as written, without the project's ingest cleaner.
 */

export interface DumpPage {
  id: number;
  title: string;
  ns: number;
  redirect?: string;
  revisionId: number;
  timestamp: string;
  text: string;
}

export async function* readDumpPages(path: string, opts: { bzip2Command?: string } = {}): AsyncGenerator<DumpPage> {
  const command = opts.bzip2Command ?? 'bzip2';
  const child = spawn(command, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);

  const parser = new SaxesParser();
  const ready: DumpPage[] = [];
  const stack: string[] = [];
  let text = '';
  let page: Partial<DumpPage> | null = null;
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
    if (tag.name === 'page') page = {};
    if (tag.name === 'redirect' && page) page.redirect = String(tag.attributes.title ?? '');
  });
  parser.on('text', (t) => { text += t; });
  parser.on('closetag', (tag) => {
    stack.pop();
    const parent = stack[stack.length - 1];
    const p = page as Partial<DumpPage> | null;
    if (p) {
      if (tag.name === 'title' && parent === 'page') p.title = text;
      else if (tag.name === 'ns' && parent === 'page') p.ns = Number(text);
      else if (tag.name === 'id' && parent === 'page') p.id = Number(text);
      else if (tag.name === 'id' && parent === 'revision') p.revisionId = Number(text);
      else if (tag.name === 'timestamp') p.timestamp = text;
      else if (tag.name === 'text') p.text = text;
      else if (tag.name === 'page') {
        ready.push(p as DumpPage);
        page = null;
      }
    }
    text = '';
  });
  parser.on('error', (err) => {
    throw new CorruptInputError(`${path} is not well-formed XML: ${err.message}`, { cause: err });
  });

  child.stdout.setEncoding('utf8');
  let complete = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<string>) {
      parser.write(chunk);
      while (ready.length) yield ready.shift() as DumpPage;
    }
    parser.close();
    while (ready.length) yield ready.shift() as DumpPage;
    complete = true;
  } finally {
    // A consumer that stops early (or a parse error) must not leave bzip2 running.
    if (!complete && child.exitCode === null) child.kill();
  }
  const code = await exited;
  if (code !== 0) throw new CorruptInputError(`${command} -dc ${path} exited with ${code}: ${stderr.trim()}`, { hint: 'is it a complete bzip2 file?' });
}
