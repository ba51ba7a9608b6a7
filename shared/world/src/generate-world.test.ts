import assert from 'node:assert/strict';
import { readFile, readdir, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateWorld, seedSplit, type GenerateWorldResult } from './generate-world.js';
import { formatInt } from './prose.js';
import { readDumpPages, type DumpPage } from './read-dump.js';
import { worldQuestionSchema } from './questions.js';
import { headOfGovernmentAt, headOfStateAt, type Country } from './world-model.js';

const root = await mkdtemp(join(tmpdir(), 'world-gen-'));
after(() => rm(root, { recursive: true, force: true }));

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

async function readAll(path: string): Promise<DumpPage[]> {
  const pages: DumpPage[] = [];
  for await (const p of readDumpPages(path)) pages.push(p);
  return pages;
}

/** Rough wikitext-to-prose: what a cleaner keeps, enough to count words the way the passage splitter does. */
function plainText(wikitext: string): string {
  let s = wikitext.replace(/<!--[\s\S]*?-->/g, ' ').replace(/<ref[^>]*\/>/g, ' ').replace(/<ref[^>]*>[\s\S]*?<\/ref>/g, ' ');
  // Templates nest (infobox holds links, citations hold templates): strip innermost first.
  for (let prev = ''; prev !== s;) {
    prev = s;
    s = s.replace(/\{\{[^{}]*\}\}/g, ' ');
  }
  s = s.replace(/^\{\|[\s\S]*?^\|\}/gm, ' ');
  s = s.replace(/\[\[(?:Category|File):[^\]]*\]\]/g, ' ');
  s = s.replace(/\[\[([^\]|]*)\|([^\]]*)\]\]/g, '$2').replace(/\[\[([^\]]*)\]\]/g, '$1');
  s = s.replace(/'{2,}/g, '').replace(/^=+\s*(.*?)\s*=+$/gm, '$1').replace(/&nbsp;/g, ' ').replace(/<[^>]+>/g, '');
  return s;
}

function wordIndex(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at < 0 ? -1 : text.slice(0, at).split(/\s+/).filter(Boolean).length;
}

function sentences(text: string): string[] {
  return text.split(/\n+|(?<=[.?!])\s+/).map((s) => s.trim()).filter(Boolean);
}

describe('generateWorld', () => {
  let a: GenerateWorldResult;
  let b: GenerateWorldResult;
  let c: GenerateWorldResult;
  let pages16: DumpPage[];
  let pages18: DumpPage[];

  before(async () => {
    a = await generateWorld({ seed: 3, outDir: join(root, 'a') });
    b = await generateWorld({ seed: 3, outDir: join(root, 'b') });
    c = await generateWorld({ seed: 4, outDir: join(root, 'c'), countries: 40, questions: 200 });
    pages16 = await readAll(a.files.dumps['2016']!);
    pages18 = await readAll(a.files.dumps['2018']!);
  });

  it('writes the same bytes for the same seed, and other bytes for another seed', async () => {
    const files = await listFiles(a.outDir);
    assert.deepEqual(files, ['2016/world.xml.bz2', '2018/world.xml.bz2', 'questions.jsonl', 'world.json']);
    assert.deepEqual(await listFiles(b.outDir), files);
    for (const f of files) assert.ok((await readFile(join(a.outDir, f))).equals(await readFile(join(b.outDir, f))), `${f} differs between runs`);
    for (const f of files) assert.ok(!(await readFile(join(a.outDir, f))).equals(await readFile(join(c.outDir, f))), `${f} same for another seed`);
    assert.notEqual(c.world.countries[0]!.name, a.world.countries[0]!.name);
  });

  it('takes time in proportion to its size (300 countries vs 40, both warm, same process)', () => {
    // A ratio measured in one run holds on a loaded machine where an absolute bound would not;
    // the absolute figure is bench/world-generate.ts's. Linear would be 7.5x; quadratic work, ~56x.
    const ratio = b.timingsMs.total / c.timingsMs.total;
    assert.ok(ratio < 3 * (300 / 40), `300 countries took ${b.timingsMs.total} ms, 40 took ${c.timingsMs.total} ms (${ratio.toFixed(1)}x)`);
    for (const r of [a, b, c]) assert.equal(r.timingsMs.total >= r.timingsMs.model + r.timingsMs.questions + r.timingsMs.dumps, true);
  });

  it('writes a summary that matches the files', async () => {
    const s = JSON.parse(await readFile(a.files.summary, 'utf8'));
    assert.equal(s.seed, 3);
    assert.equal(s.split, 'training');
    assert.equal(seedSplit(150), 'held-out');
    assert.equal(s.counts.countries, 300);
    assert.equal(s.counts.headOfGovernmentChanged, 240);
    assert.equal(s.dumps['2016'].pages, pages16.length);
    assert.equal(s.dumps['2016'].articles, pages16.filter((p) => p.ns === 0 && p.redirect === undefined).length);
    assert.equal(s.dumps['2018'].redirects, 300);
    const bytes = await readFile(a.files.dumps['2018']!);
    assert.equal(s.dumps['2018'].bz2Bytes, bytes.length);
  });

  it('writes questions.jsonl lines that match the schema', async () => {
    const lines = (await readFile(a.files.questions, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 1500);
    const qs = lines.map((l) => worldQuestionSchema.parse(JSON.parse(l)));
    assert.equal(new Set(qs.map((q) => q.question)).size, qs.length);
    for (const t of ['changing', 'invariant', 'multi-fact']) assert.ok(qs.some((q) => q.type === t), t);
    const hog = qs.filter((q) => q.relation === 'head_of_government');
    const share = hog.filter((q) => q.type === 'changing').length / hog.length;
    assert.ok(share >= 0.7, `changing share among sampled head-of-government questions: ${share}`);
  });

  it('parses as a MediaWiki export with the same pages in both years', () => {
    assert.equal(pages16.length, pages18.length);
    for (let i = 0; i < pages16.length; i++) {
      const p = pages16[i]!;
      const q = pages18[i]!;
      assert.equal(p.id, q.id);
      assert.equal(p.title, q.title);
      assert.ok(p.timestamp.startsWith('2016-') && q.timestamp.startsWith('2018-'));
      assert.ok(q.revisionId > p.revisionId);
    }
    assert.equal(new Set(pages16.map((p) => p.id)).size, pages16.length);
    assert.ok(pages16.some((p) => p.ns === 14));
    const redirect = pages16.find((p) => p.redirect !== undefined)!;
    assert.match(redirect.text, /^#REDIRECT \[\[/);
  });

  it('puts the key facts of each country in different 100-word passages', () => {
    const byTitle = new Map(pages18.map((p) => [p.title, p]));
    const distinct: number[] = [];
    for (const country of a.world.countries) {
      const text = plainText(byTitle.get(country.name)!.text);
      const words = text.split(/\s+/).filter(Boolean).length;
      assert.ok(words >= 400, `${country.name} has only ${words} words`);
      const hog = a.world.people[headOfGovernmentAt(country, 2018).personId]!.name;
      const at = {
        founded: wordIndex(text, `founded in ${country.founded}`),
        capital: Math.max(wordIndex(text, `The capital and largest city is ${country.capital}`), wordIndex(text, `${country.capital} is the capital of`), wordIndex(text, `The capital of ${country.name} is ${country.capital}`)),
        headOfGovernment: wordIndex(text, `of ${country.name} is ${hog}`),
        currency: wordIndex(text, `(${country.currency.code}`) >= 0 ? wordIndex(text, `(${country.currency.code}`) : wordIndex(text, `(ISO code ${country.currency.code}`),
      };
      for (const [k, v] of Object.entries(at)) assert.ok(v >= 0, `${country.name}: ${k} not found in the prose`);
      const chunks = new Set(Object.values(at).map((i) => Math.floor(i / 100)));
      assert.ok(chunks.size >= 2, `${country.name}: all facts in one passage`);
      distinct.push(chunks.size);
    }
    const allFour = distinct.filter((n) => n === 4).length / distinct.length;
    assert.ok(allFour >= 0.9, `only ${allFour} of articles have four facts in four passages`);
  });

  it('states each year\'s office holders in that year\'s dump', () => {
    const text16 = new Map(pages16.map((p) => [p.title, p.text]));
    const text18 = new Map(pages18.map((p) => [p.title, p.text]));
    for (const country of a.world.countries) {
      for (const [year, texts] of [[2016, text16], [2018, text18]] as const) {
        const hog = a.world.people[headOfGovernmentAt(country, year).personId]!.name;
        const hos = a.world.people[headOfStateAt(country, year).personId]!.name;
        const t = texts.get(country.name)!;
        assert.ok(t.includes(`As of ${year}, the ${country.hogTitle.toLowerCase()} of ${country.name} is ${hog}`), `${country.name} ${year}`);
        assert.ok(t.includes(hos));
      }
    }
  });

  it('differs between 2016 and 2018 only in year-dependent sentences', () => {
    const world = a.world;
    const officeHolders = (country: Country): string[] =>
      [...country.headOfState, ...country.headOfGovernment].map((t) => world.people[t.personId]!.name);
    const allowedByTitle = new Map<string, string[]>();
    for (const country of world.countries) {
      const pops = Object.values(country.population).map(formatInt);
      allowedByTitle.set(country.name, [...officeHolders(country), ...pops, 'leader_title1']);
      for (const t of [...country.headOfState, ...country.headOfGovernment]) {
        allowedByTitle.set(world.people[t.personId]!.name, [...officeHolders(country), country.name]);
      }
    }
    let same = 0;
    let total = 0;
    let changedPages = 0;
    for (let i = 0; i < pages16.length; i++) {
      const p = pages16[i]!;
      const q = pages18[i]!;
      const s16 = sentences(p.text);
      const s18 = sentences(q.text);
      total += s18.length;
      if (p.text === q.text) {
        same += s18.length;
        continue;
      }
      changedPages++;
      const allowed = allowedByTitle.get(p.title);
      assert.ok(allowed, `${p.title} changed but has no year-dependent facts`);
      const only16 = s16.filter((s) => !s18.includes(s));
      const only18 = s18.filter((s) => !s16.includes(s));
      same += s18.length - only18.length;
      for (const s of [...only16, ...only18]) {
        const ok = s.includes('2016') || s.includes('2018') || allowed.some((x) => s.includes(x));
        assert.ok(ok, `${p.title}: unexpected change in "${s}"`);
      }
    }
    // Countries always change (dates, population); people only when their office changes.
    assert.ok(changedPages >= 300 && changedPages < pages16.length / 2, `${changedPages} pages changed`);
    assert.ok(same / total > 0.9, `only ${same / total} of sentences are the same in both years`);
  });
});
