import { spawn } from 'node:child_process';

/** A 100-word passage cut from a real article, for benchmarks only. */
export interface BenchPassage {
  title: string;
  text: string;
}

const XML_ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&amp;': '&', '&apos;': "'", '&nbsp;': ' ' };

/**
 * Deliberately crude wikitext stripping: the benchmark needs realistic English word and token
 * lengths, not a faithful render (the corpus library does the real thing).
 */
function stripWikitext(raw: string): string {
  let s = raw.replace(/&(lt|gt|quot|amp|apos|nbsp);/g, (m) => XML_ENTITIES[m] ?? m);
  s = s.replace(/<!--[\s\S]*?-->/g, ' ');
  s = s.replace(/<ref[^>]*\/>/g, ' ').replace(/<ref[\s\S]*?<\/ref>/g, ' ');
  // Templates and tables nest; peel innermost first a few times.
  for (let i = 0; i < 5; i++) s = s.replace(/\{\{[^{}]*\}\}/g, ' ').replace(/\{\|[^{}]*?\|\}/g, ' ');
  s = s.replace(/\[\[(?:File|Image|Category):[^\]]*\]\]/gi, ' ');
  s = s.replace(/\[\[([^\]|]*\|)?([^\]]*)\]\]/g, '$2');
  s = s.replace(/\[https?:\/\/\S+\s*([^\]]*)\]/g, '$1');
  s = s.replace(/<[^>]+>/g, ' ').replace(/'{2,}/g, '').replace(/^[=*#:;|!].*$/gm, ' ');
  return s.replace(/\s+/g, ' ').trim();
}

/** Reads the bz2 dump with the system bzip2 and cuts articles into `count` passages of `words` words. */
export async function loadWikiPassages(dumpPath: string, count: number, words = 100): Promise<BenchPassage[]> {
  const child = spawn('bzip2', ['-dc', dumpPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  for await (const c of child.stdout) chunks.push(c as Buffer);
  const xml = Buffer.concat(chunks).toString('utf8');
  const out: BenchPassage[] = [];
  const pageRe = /<page>[\s\S]*?<title>([^<]*)<\/title>[\s\S]*?<ns>0<\/ns>[\s\S]*?<text[^>]*>([\s\S]*?)<\/text>[\s\S]*?<\/page>/g;
  for (const m of xml.matchAll(pageRe)) {
    const body = m[2]!;
    if (/^#REDIRECT/i.test(body)) continue;
    const tokens = stripWikitext(body).split(' ').filter((w) => w.length > 0);
    for (let i = 0; i + words <= tokens.length && out.length < count; i += words) {
      out.push({ title: m[1]!, text: tokens.slice(i, i + words).join(' ') });
    }
    if (out.length >= count) break;
  }
  return out;
}
