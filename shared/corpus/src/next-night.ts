import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '@rag/core';
import { readInputText } from './decode-text.js';

/**
 * "The next night's dump" for incremental-build tests and benchmarks: a copy of a MediaWiki XML dump
 * or JSONL corpus with a share of its articles edited, some added and some removed, deterministic
 * for a seed. Edits are of two kinds, half each, as in real revisions: a word replaced (the passage
 * count stays) or a sentence inserted at a paragraph break (every later passage of that page shifts).
 * Added articles are copies of existing ones under new titles and ids.
 */
export interface NextNightOptions {
  seed: number;
  /** Shares of articles (0..1). */
  edit: number;
  add: number;
  remove: number;
}

export interface NextNightReport {
  format: 'wikixml' | 'jsonl';
  articles: number;
  edited: number;
  added: number;
  removed: number;
  editKinds: { word: number; sentence: number };
  titles: { edited: string[]; added: string[]; removed: string[] };
}

export async function makeNextNight(source: string, out: string, o: NextNightOptions): Promise<NextNightReport> {
  for (const [k, v] of Object.entries({ edit: o.edit, add: o.add, remove: o.remove })) {
    if (!(v >= 0 && v <= 1)) throw new UsageError(`--${k} must be a share from 0 to 1, got ${v}`);
  }
  let text = '';
  for await (const chunk of readInputText(source)) text += chunk;
  const start = text.trimStart();
  const rng = mulberry32(o.seed);
  let result: { body: string; report: NextNightReport };
  if (start.startsWith('<')) result = nextNightXml(text, o, rng);
  else if (start.startsWith('{')) result = nextNightJsonl(text, o, rng);
  else throw new UsageError(`${source} is neither MediaWiki XML nor JSONL`, { hint: 'next-night edits .xml(.bz2) dumps and .jsonl corpora' });
  await writeMaybeBz2(out, result.body);
  return result.report;
}

type Rng = () => number;

interface Unit {
  title: string;
  text: string;
  /** Rebuilds the unit with new text (and optionally a new title and id). */
  render(text: string, title?: string, id?: string): string;
}

function pick(n: number, share: number): number {
  return share > 0 ? Math.max(1, Math.round(n * share)) : 0;
}

/** Chooses disjoint article sets to edit, remove and copy, and applies them. */
function apply(units: { raw: string; unit?: Unit }[], o: NextNightOptions, rng: Rng, newId: (k: number) => string, format: NextNightReport['format']) {
  const articles = units.map((u, i) => (u.unit ? i : -1)).filter((i) => i >= 0);
  const order = shuffle(articles, rng);
  const nEdit = pick(articles.length, o.edit);
  const nRemove = pick(articles.length, o.remove);
  const nAdd = pick(articles.length, o.add);
  const edit = new Set(order.slice(0, nEdit));
  const remove = new Set(order.slice(nEdit, nEdit + nRemove));
  const copies = order.slice(nEdit + nRemove, nEdit + nRemove + nAdd);
  const report: NextNightReport = { format, articles: articles.length, edited: edit.size, added: copies.length, removed: remove.size, editKinds: { word: 0, sentence: 0 }, titles: { edited: [], added: [], removed: [] } };
  const parts: string[] = [];
  units.forEach((u, i) => {
    if (remove.has(i)) { report.titles.removed.push(u.unit!.title); return; }
    if (edit.has(i)) {
      const kind = rng() < 0.5 ? 'word' : 'sentence';
      report.editKinds[kind]++;
      report.titles.edited.push(u.unit!.title);
      parts.push(u.unit!.render(kind === 'word' ? replaceWord(u.unit!.text, rng) : insertSentence(u.unit!.text, rng)));
      return;
    }
    parts.push(u.raw);
  });
  // New articles go before the closing part (the last unit of an XML dump is </mediawiki>).
  const tail = format === 'wikixml' ? parts.pop()! : '';
  copies.forEach((i, k) => {
    const u = units[i]!.unit!;
    const title = `${u.title} (revisited ${o.seed}-${k})`;
    report.titles.added.push(title);
    parts.push(u.render(u.text, title, newId(k)));
  });
  if (tail) parts.push(tail);
  return { body: parts.join(''), report };
}

function nextNightXml(text: string, o: NextNightOptions, rng: Rng) {
  const units: { raw: string; unit?: Unit }[] = [];
  let pos = 0;
  let maxId = 0;
  const re = /<page>[\s\S]*?<\/page>\s*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > pos) units.push({ raw: text.slice(pos, m.index) });
    const raw = m[0];
    pos = m.index + raw.length;
    const id = Number(/<id>(\d+)<\/id>/.exec(raw)?.[1] ?? 0);
    maxId = Math.max(maxId, id);
    const ns = /<ns>(\d+)<\/ns>/.exec(raw)?.[1] ?? '0';
    const t = /(<text[^>]*>)([\s\S]*?)(<\/text>)/.exec(raw);
    const title = /<title>([\s\S]*?)<\/title>/.exec(raw)?.[1] ?? '';
    if (ns !== '0' || /<redirect\b/.test(raw) || !t || /^\s*#redirect/i.test(t[2]!)) {
      units.push({ raw });
      continue;
    }
    units.push({
      raw,
      unit: {
        title,
        text: t[2]!,
        render: (newText, newTitle, newPageId) => {
          let r = raw.replace(t[0], `${t[1]}${newText}${t[3]}`);
          if (newTitle !== undefined) r = r.replace(`<title>${title}</title>`, `<title>${newTitle}</title>`);
          // The page id is the first <id> of the page (revision and contributor ids follow).
          if (newPageId !== undefined) r = r.replace(/<id>\d+<\/id>/, `<id>${newPageId}</id>`);
          return r;
        },
      },
    });
  }
  units.push({ raw: text.slice(pos) });
  return apply(units, o, rng, (k) => String(maxId + 1 + k), 'wikixml');
}

function nextNightJsonl(text: string, o: NextNightOptions, rng: Rng) {
  const units: { raw: string; unit?: Unit }[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as { id?: string | number; title?: string; text: string };
    units.push({
      raw: line + '\n',
      unit: {
        title: rec.title ?? '',
        text: rec.text,
        render: (newText, newTitle, newId) => JSON.stringify({ ...rec, ...(newId !== undefined ? { id: newId } : {}), ...(newTitle !== undefined ? { title: newTitle } : {}), text: newText }) + '\n',
      },
    });
  }
  return apply(units, o, rng, (k) => `night-${o.seed}-${k}`, 'jsonl');
}

const WORDS = ['river', 'council', 'harbour', 'festival', 'province', 'library', 'engine', 'orchestra', 'treaty', 'glacier', 'railway', 'museum'];

function replaceWord(text: string, rng: Rng): string {
  const words = [...text.matchAll(/\b[a-z]{6,}\b/g)];
  if (words.length === 0) return insertSentence(text, rng);
  const m = words[Math.floor(rng() * words.length)]!;
  const w = WORDS[Math.floor(rng() * WORDS.length)]!;
  return text.slice(0, m.index) + w + text.slice(m.index! + m[0].length);
}

function insertSentence(text: string, rng: Rng): string {
  const breaks = [...text.matchAll(/\n\n/g)].map((m) => m.index!);
  const at = breaks.length ? breaks[Math.floor(rng() * breaks.length)]! : text.length;
  const s = Array.from({ length: 12 }, () => WORDS[Math.floor(rng() * WORDS.length)]!).join(' ');
  return `${text.slice(0, at)}\n\nA later revision adds that the ${s}.${text.slice(at)}`;
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Small deterministic PRNG (mulberry32): same seed, same dump. */
function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeMaybeBz2(path: string, body: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const file = createWriteStream(path);
  const done = new Promise<void>((res, rej) => { file.on('finish', res); file.on('error', rej); });
  if (!path.endsWith('.bz2')) {
    file.end(body);
    return done;
  }
  const bz = spawn('bzip2', ['-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  bz.stdout.pipe(file);
  const exited = new Promise<void>((res, rej) => bz.on('close', (code) => (code === 0 ? res() : rej(new Error(`bzip2 exited ${code}`)))));
  bz.stdin.end(body);
  await exited;
  return done;
}
