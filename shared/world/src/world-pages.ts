import { Prng } from './prng.js';
import {
  WorldIndex, writeCityArticle, writeCountryArticle, writePersonArticle, writeWorkArticle, type Article,
} from './article-writer.js';
import type { WikiPage } from './mediawiki-xml.js';

/**
 * The pages of one dump year, in a fixed order with ids that are the same in every year.
 *
 * Order: countries, capitals, people, works, redirects (official names), category pages. Page ids never depend
 * on the year, revision ids and timestamps do (a later dump carries later revisions), as in real dumps.
 */

export const CATEGORY_NS = 14;

interface PageSpec {
  ns: number;
  title: string;
  redirect?: string;
  /** Builds the text for a year; year-independent pages ignore it. */
  text(year: number): string;
}

function specs(ix: WorldIndex): PageSpec[] {
  const { world } = ix;
  const out: PageSpec[] = [];
  const art = (make: (year: number) => Article, title: string): PageSpec => ({ ns: 0, title, text: (y) => make(y).text });
  for (const c of world.countries) out.push(art((y) => writeCountryArticle(ix, c, y), c.name));
  for (const c of world.countries) {
    const text = writeCityArticle(ix, c).text;
    out.push({ ns: 0, title: c.capital, text: () => text });
  }
  for (const p of world.people) out.push(art((y) => writePersonArticle(ix, p, y), p.name));
  for (const w of world.works) {
    const text = writeWorkArticle(ix, w).text;
    out.push({ ns: 0, title: w.title, text: () => text });
  }
  for (const c of world.countries) {
    out.push({ ns: 0, title: c.officialName, redirect: c.name, text: () => `#REDIRECT [[${c.name}]]\n\n{{R from official name}}` });
  }
  for (const region of world.regions) {
    out.push({
      ns: CATEGORY_NS,
      title: `Category:Countries in ${region}`,
      text: () => `Sovereign states located in [[${region}]].\n\n[[Category:Countries by continent|${region}]]`,
    });
  }
  return out;
}

export interface YearPages {
  /** Lazily built, so a whole dump never has to sit in memory. */
  pages(): Generator<WikiPage>;
  count: number;
}

export function yearPages(ix: WorldIndex, year: number): YearPages {
  const list = specs(ix);
  const seed = ix.world.seed;
  return {
    count: list.length,
    *pages() {
      for (let i = 0; i < list.length; i++) {
        const s = list[i] as PageSpec;
        const id = 10 + i * 3;
        const r = new Prng(`world:${seed}`).fork(`revision:${i}:${year}`);
        const mm = String(r.int(1, 2)).padStart(2, '0');
        const dd = String(r.int(1, 28)).padStart(2, '0');
        const hh = String(r.int(0, 23)).padStart(2, '0');
        const mi = String(r.int(0, 59)).padStart(2, '0');
        const ss = String(r.int(0, 59)).padStart(2, '0');
        const page: WikiPage = {
          id,
          title: s.title,
          ns: s.ns,
          revision: {
            id: (year - 1900) * 10_000_000 + id * 7 + r.int(0, 6),
            timestamp: `${year}-${mm}-${dd}T${hh}:${mi}:${ss}Z`,
            contributor: { username: r.pick(['WorldBot', 'Atlas editor', 'Cartographer77', 'Gazetteer']), id: r.int(1000, 99999) },
            comment: r.pick(['update', 'copyedit', 'infobox', 'sources', 'per talk page']),
          },
          text: s.text(year),
        };
        if (s.redirect !== undefined) page.redirect = s.redirect;
        yield page;
      }
    },
  };
}
