import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@rag/core';
import { WorldIndex } from './article-writer.js';
import { MediaWikiDumpWriter, type DumpStats } from './mediawiki-xml.js';
import { DEFAULT_QUESTION_SHARES, QUESTION_TYPES, questionLine, selectQuestions, type WorldQuestion } from './questions.js';
import { yearPages } from './world-pages.js';
import { buildWorld, headOfGovernmentAt, headOfStateAt, type World } from './world-model.js';

/**
 * Writes a whole synthetic world: one MediaWiki dump per year, the questions, and a summary.
 *
 *   <outDir>/<year>/world.xml.bz2   pages-articles style export, bzip2
 *   <outDir>/questions.jsonl        {"question","answers":{"<year>":[...]},"type","relation","id"}
 *   <outDir>/world.json             counts, options, sizes and sha256 of each dump
 *
 * Seeds: 1–99 are training seeds (tune chunking, prompts, thresholds on these); 100–199 are held out
 * (report results on these only); anything else is unassigned (ad-hoc and unit tests use 0). The same seed
 * and options always give byte-identical files.
 */

export const TRAINING_SEEDS = { first: 1, last: 99 } as const;
export const HELD_OUT_SEEDS = { first: 100, last: 199 } as const;
export type SeedSplit = 'training' | 'held-out' | 'unassigned';

export function seedSplit(seed: number): SeedSplit {
  if (seed >= TRAINING_SEEDS.first && seed <= TRAINING_SEEDS.last) return 'training';
  if (seed >= HELD_OUT_SEEDS.first && seed <= HELD_OUT_SEEDS.last) return 'held-out';
  return 'unassigned';
}

export interface GenerateWorldOptions {
  seed: number;
  outDir: string;
  /** Dump years, ascending; default [2016, 2018]. */
  years?: number[];
  /** Default 300. */
  countries?: number;
  /** Questions to keep; default 1500. */
  questions?: number;
  /** Exact share of countries with a new head of government between consecutive years; default 0.8. */
  hogChangeRate?: number;
  /** Chance a republic's head of state changes between consecutive years (monarchies a third); default 0.5. */
  hosChangeRate?: number;
  /** Compressor command (`<cmd> -c -9`); default `bzip2`. */
  bzip2Command?: string;
  logger?: Logger;
}

export interface DumpSummary extends DumpStats {
  path: string;
  articles: number;
  redirects: number;
  otherNamespaces: number;
  /** Whitespace-separated tokens over all article wikitext (markup included). */
  wikitextWords: number;
}

export interface WorldSummary {
  generator: '@rag/world';
  formatVersion: 1;
  seed: number;
  split: SeedSplit;
  years: number[];
  options: { countries: number; questions: number; hogChangeRate: number; hosChangeRate: number };
  counts: {
    countries: number;
    people: number;
    works: number;
    regions: number;
    headOfGovernmentChanged: number;
    headOfStateChanged: number;
    questions: number;
    questionsByType: Record<string, number>;
    questionsByRelation: Record<string, number>;
  };
  dumps: Record<string, DumpSummary>;
}

export interface GenerateWorldResult {
  outDir: string;
  summary: WorldSummary;
  world: World;
  questions: WorldQuestion[];
  files: { dumps: Record<string, string>; questions: string; summary: string };
  /** Wall-clock milliseconds per phase (not written to disk: files must not depend on the clock). */
  timingsMs: { model: number; questions: number; dumps: number; total: number };
}

export const WORLD_DEFAULTS = {
  years: [2016, 2018],
  countries: 300,
  questions: 1500,
  hogChangeRate: 0.8,
  hosChangeRate: 0.5,
} as const;

/** Writes `text` to `path` via a temporary name, so readers never see a half-written file. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}

async function writeDump(ix: WorldIndex, year: number, outDir: string, bzip2Command: string | undefined): Promise<DumpSummary> {
  const rel = join(String(year), 'world.xml.bz2');
  await mkdir(join(outDir, String(year)), { recursive: true });
  const writer = await MediaWikiDumpWriter.open(join(outDir, rel), bzip2Command ? { bzip2Command } : {});
  let articles = 0;
  let redirects = 0;
  let otherNamespaces = 0;
  let wikitextWords = 0;
  try {
    for (const page of yearPages(ix, year).pages()) {
      if (page.ns !== 0) otherNamespaces++;
      else if (page.redirect !== undefined) redirects++;
      else {
        articles++;
        wikitextWords += page.text.split(/\s+/).filter(Boolean).length;
      }
      await writer.writePage(page);
    }
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const stats = await writer.close();
  return { path: rel, ...stats, articles, redirects, otherNamespaces, wikitextWords };
}

function countBy<T>(items: readonly T[], key: (t: T) => string, keys: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = 0;
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  // Sorted keys: JSON output must not depend on the order things were first seen.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function generateWorld(opts: GenerateWorldOptions): Promise<GenerateWorldResult> {
  const t0 = performance.now();
  const years = (opts.years ?? WORLD_DEFAULTS.years).slice();
  const settings = {
    countries: opts.countries ?? WORLD_DEFAULTS.countries,
    questions: opts.questions ?? WORLD_DEFAULTS.questions,
    hogChangeRate: opts.hogChangeRate ?? WORLD_DEFAULTS.hogChangeRate,
    hosChangeRate: opts.hosChangeRate ?? WORLD_DEFAULTS.hosChangeRate,
  };
  const world = buildWorld({ seed: opts.seed, years, ...settings });
  const ix = new WorldIndex(world);
  const t1 = performance.now();

  const questions = selectQuestions(world, { count: settings.questions, shares: DEFAULT_QUESTION_SHARES });
  const t2 = performance.now();

  await mkdir(opts.outDir, { recursive: true });
  // Years are compressed side by side: each bzip2 is its own process, so two dumps use two cores.
  const dumpList = await Promise.all(years.map((y) => writeDump(ix, y, opts.outDir, opts.bzip2Command)));
  const t3 = performance.now();

  const first = years[0] as number;
  const last = years[years.length - 1] as number;
  const changed = (pick: typeof headOfStateAt): number =>
    world.countries.filter((c) => pick(c, first).personId !== pick(c, last).personId).length;
  const dumps: Record<string, DumpSummary> = {};
  years.forEach((y, i) => { dumps[String(y)] = dumpList[i] as DumpSummary; });
  const summary: WorldSummary = {
    generator: '@rag/world',
    formatVersion: 1,
    seed: opts.seed,
    split: seedSplit(opts.seed),
    years,
    options: settings,
    counts: {
      countries: world.countries.length,
      people: world.people.length,
      works: world.works.length,
      regions: world.regions.length,
      headOfGovernmentChanged: changed(headOfGovernmentAt),
      headOfStateChanged: changed(headOfStateAt),
      questions: questions.length,
      questionsByType: countBy(questions, (q) => q.type, QUESTION_TYPES),
      questionsByRelation: countBy(questions, (q) => q.relation),
    },
    dumps,
  };
  const questionsPath = join(opts.outDir, 'questions.jsonl');
  const summaryPath = join(opts.outDir, 'world.json');
  await writeAtomic(questionsPath, questions.map((q) => `${questionLine(q)}\n`).join(''));
  await writeAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  const t4 = performance.now();

  const timingsMs = { model: t1 - t0, questions: t2 - t1, dumps: t3 - t2, total: t4 - t0 };
  opts.logger?.info({ seed: opts.seed, outDir: opts.outDir, counts: summary.counts, timingsMs }, 'world generated');
  return {
    outDir: opts.outDir,
    summary,
    world,
    questions,
    files: {
      dumps: Object.fromEntries(years.map((y) => [String(y), join(opts.outDir, String(y), 'world.xml.bz2')])),
      questions: questionsPath,
      summary: summaryPath,
    },
    timingsMs,
  };
}
