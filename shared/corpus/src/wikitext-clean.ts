import { decodeHtmlEntities } from './html-entities.js';

/*
 * Wikitext to plain prose, in two linear passes.
 *
 * Pass 1 is a scanner with a stack of open constructs (templates, tables,
 * links, external links). Each frame buffers its own output; closing a frame
 * decides what reaches the parent: nothing for templates and tables, the label
 * for links. Nothing here is a backtracking regex over the whole page, so a
 * 2 MB article with thousands of templates costs a single walk.
 *
 * Pass 2 works line by line: headings, list markers, bold/italic quotes,
 * magic words, entities, whitespace.
 *
 * Choices (documented for users of the corpus):
 * - Headings are dropped (their words would glue onto the prose around them),
 *   and so are whole boilerplate sections ("See also", "References",
 *   "External links", "Further reading", "Notes", ...), which hold only lists
 *   of links and citations.
 * - List items are kept as text, markers removed.
 * - Paragraphs are kept as lines: the result is lines of single-spaced text
 *   joined by "\n", without empty lines or lines of bare punctuation.
 * - An unclosed construct is not swallowed to the end of the page: its opener
 *   is dropped and its content kept, as MediaWiki shows it.
 */

const enum Kind {
  Root,
  Template,
  Table,
  Link,
  ExtLink,
}

interface Frame {
  kind: Kind;
  parts: string[];
  /** Links: index in `parts` where the label starts (after the first `|`); -1 while there is none. */
  labelAt: number;
  /** Templates: 3 for a `{{{parameter}}}`, closed by `}}}`. */
  braces?: number;
}

/** Deeper nesting than this is not real markup; openers beyond it are kept as text. */
const MAX_DEPTH = 200;

/** Tags whose whole content is dropped: references, formulas, galleries, scores, HTML tables... */
const DROP_CONTENT = new Set([
  'ref', 'references', 'math', 'chem', 'ce', 'gallery', 'timeline', 'score', 'graph', 'imagemap', 'templatedata',
  'templatestyles', 'mapframe', 'maplink', 'syntaxhighlight', 'source', 'hiero', 'inputbox', 'categorytree',
  'includeonly', 'indicator', 'table', 'charinsert', 'langconvert', 'phonos',
]);

/** Tags whose content is shown verbatim (no markup inside is interpreted). */
const RAW_CONTENT = new Set(['nowiki', 'pre']);

/** Harmless HTML: the tag goes, its content stays. */
const STRIP_TAG = new Set([
  'b', 'i', 'u', 's', 'strike', 'del', 'ins', 'small', 'big', 'sub', 'sup', 'span', 'font', 'center', 'abbr',
  'cite', 'code', 'var', 'kbd', 'samp', 'tt', 'q', 'dfn', 'em', 'strong', 'mark', 'bdi', 'bdo', 'ruby', 'rb', 'rt',
  'rp', 'rtc', 'wbr', 'time', 'data', 'poem', 'noinclude', 'onlyinclude', 'section', 'blockquote', 'div', 'p',
  'br', 'hr', 'ol', 'ul', 'li', 'dl', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'caption', 'tr', 'td', 'th',
  'tbody', 'thead', 'tfoot',
]);

/** Tags that separate words when removed (`a<br>b` reads as two words). */
const SPACE_TAG = new Set([
  'br', 'hr', 'p', 'div', 'li', 'dt', 'dd', 'blockquote', 'tr', 'td', 'th', 'caption', 'h1', 'h2', 'h3', 'h4',
  'h5', 'h6', 'ol', 'ul', 'dl',
]);

const TAG = /<(\/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])([^<>]{0,2000})>/y;
const URL_START = /(?:https?:|ftps?:|mailto:|news:|ircs?:|gopher:|sftp:|\/\/)[^\s[\]<>"{}|]+/y;
const HIDDEN_NAMESPACE = /^(?:file|image|media|category)\s*:/i;
/** Interlanguage links (`[[de:Albedo]]`) go to the sidebar, not the text. */
const INTERLANGUAGE = /^(?:[a-z]{2,3}(?:-[a-z0-9]{2,8})*|simple)\s*:/;

function isSpecial(c: number): boolean {
  // { } [ ] | < \n
  return c === 123 || c === 125 || c === 91 || c === 93 || c === 124 || c === 60 || c === 10;
}

function isBlank(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** What a closed `[[...]]` shows in the text. */
function renderLink(target: string, label: string | undefined): string {
  let t = target.trim();
  if (t.startsWith(':')) {
    t = t.slice(1).trim(); // [[:Category:X]] is a visible link
  } else if (HIDDEN_NAMESPACE.test(t) || INTERLANGUAGE.test(t)) {
    return '';
  }
  if (label === undefined) return t;
  if (label.trim() !== '') return label;
  // Pipe trick: [[Paris (band)|]] shows "Paris".
  return t.replace(/^[^:]*:/, '').replace(/\s*\([^)]*\)\s*$/, '');
}

class Scanner {
  private readonly stack: Frame[] = [{ kind: Kind.Root, parts: [], labelAt: -1 }];
  private top: Frame = this.stack[0]!;
  /** Closing-tag searches that found nothing; they cannot succeed later in the page either. */
  private readonly noClose = new Set<string>();
  private readonly closeTag = new Map<string, RegExp>();

  constructor(private readonly src: string) {}

  run(): string {
    const src = this.src;
    const n = src.length;
    let i = 0;
    let lineStart = true; // only blanks since the last newline
    while (i < n) {
      let j = i;
      while (j < n && !isSpecial(src.charCodeAt(j))) j++;
      if (j > i) {
        const run = src.slice(i, j);
        this.top.parts.push(run);
        if (lineStart && !isBlank(run)) lineStart = false;
        i = j;
        if (i >= n) break;
      }
      const c = src[i];
      const next = src[i + 1];
      if (c === '\n') {
        if (this.top.kind === Kind.ExtLink) this.unwindTo(this.stack.length - 1); // links end at the line's end
        this.top.parts.push('\n');
        lineStart = true;
        i++;
        continue;
      }
      if (c === '<') {
        i = this.angle(i);
        continue;
      }
      const wasLineStart = lineStart;
      lineStart = false;
      if (c === '{') {
        if (next === '{') {
          const triple = src[i + 2] === '{';
          if (this.open(Kind.Template, triple ? '{{{' : '{{') && triple) this.top.braces = 3;
          i += triple ? 3 : 2;
        } else if (next === '|' && wasLineStart) {
          this.open(Kind.Table, '{|');
          i += 2;
        } else {
          this.top.parts.push('{');
          i++;
        }
      } else if (c === '}') {
        if (next === '}') {
          const k = this.closable(Kind.Template);
          const triple = k >= 0 && this.stack[k]!.braces === 3 && src[i + 2] === '}';
          this.close(Kind.Template); // a stray "}}" is dropped
          i += triple ? 3 : 2;
        } else {
          this.top.parts.push('}');
          i++;
        }
      } else if (c === '|') {
        if (next === '}' && wasLineStart && this.closable(Kind.Table) >= 0) {
          this.close(Kind.Table);
          i += 2;
        } else {
          if (this.top.kind === Kind.Link && this.top.labelAt < 0) this.top.labelAt = this.top.parts.length;
          else this.top.parts.push('|');
          i++;
        }
      } else if (c === '[') {
        i = this.bracket(i);
      } else {
        // c === ']'
        if (this.top.kind === Kind.ExtLink) {
          this.close(Kind.ExtLink);
          i++;
        } else if (next === ']') {
          this.close(Kind.Link); // a stray "]]" is dropped
          i += 2;
        } else {
          this.top.parts.push(']');
          i++;
        }
      }
    }
    this.unwindTo(1);
    return this.stack[0]!.parts.join('');
  }

  /** Opens a frame; false (and the opener kept as text) past MAX_DEPTH. */
  private open(kind: Kind, literal: string): boolean {
    if (this.stack.length >= MAX_DEPTH) {
      this.top.parts.push(literal);
      return false;
    }
    this.top = { kind, parts: [], labelAt: -1 };
    this.stack.push(this.top);
    return true;
  }

  /**
   * Index of the frame a closer of `kind` closes, or -1. Links may be left
   * open inside it (they are weak); a template or table of another kind on
   * the way blocks the closer, since braces outrank brackets in MediaWiki.
   */
  private closable(kind: Kind): number {
    for (let k = this.stack.length - 1; k > 0; k--) {
      const f = this.stack[k]!;
      if (f.kind === kind) return k;
      if (f.kind === Kind.Template || f.kind === Kind.Table) return -1;
    }
    return -1;
  }

  private close(kind: Kind): void {
    const k = this.closable(kind);
    if (k < 0) return;
    this.unwindTo(k + 1);
    const frame = this.stack.pop()!;
    this.top = this.stack[this.stack.length - 1]!;
    if (frame.kind === Kind.Link) {
      const target = frame.parts.slice(0, frame.labelAt < 0 ? undefined : frame.labelAt).join('');
      const label = frame.labelAt < 0 ? undefined : frame.parts.slice(frame.labelAt).join('');
      const shown = renderLink(target, label);
      if (shown) this.top.parts.push(shown);
    } else if (frame.kind === Kind.ExtLink) {
      this.top.parts.push(frame.parts.join(''));
    }
    // Templates and tables leave nothing behind.
  }

  /** Pops frames above `depth` as unclosed: their opener is dropped, their content kept. */
  private unwindTo(depth: number): void {
    while (this.stack.length > depth) {
      const frame = this.stack.pop()!;
      this.top = this.stack[this.stack.length - 1]!;
      if (frame.kind === Kind.Link && frame.labelAt >= 0) frame.parts.splice(frame.labelAt, 0, '|');
      for (const p of frame.parts) this.top.parts.push(p);
    }
  }

  private bracket(i: number): number {
    const src = this.src;
    if (src[i + 1] === '[') {
      this.open(Kind.Link, '[[');
      return i + 2;
    }
    URL_START.lastIndex = i + 1;
    const m = URL_START.exec(src);
    if (m) {
      const after = i + 1 + m[0].length;
      const c = src[after];
      if (c === ']') return after + 1; // [http://x] shows only a footnote number: drop it
      if (c === ' ' || c === '\t') {
        this.open(Kind.ExtLink, '[');
        return after + 1;
      }
    }
    this.top.parts.push('[');
    return i + 1;
  }

  /** Handles `<`: comments, tags with dropped or verbatim content, harmless HTML, or a plain "<". */
  private angle(i: number): number {
    const src = this.src;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      return end < 0 ? src.length : end + 3; // an unclosed comment hides the rest, as in MediaWiki
    }
    TAG.lastIndex = i;
    const m = TAG.exec(src);
    if (!m) {
      this.top.parts.push('<');
      return i + 1;
    }
    const closing = m[1] === '/';
    const name = m[2]!.toLowerCase();
    const selfClosing = m[3]!.endsWith('/');
    const afterTag = i + m[0].length;
    if (DROP_CONTENT.has(name) || RAW_CONTENT.has(name)) {
      if (closing || selfClosing) return afterTag;
      const end = this.findClose(name, afterTag);
      if (!end) return afterTag; // unclosed: drop the tag alone
      if (RAW_CONTENT.has(name)) this.top.parts.push(src.slice(afterTag, end.start));
      return end.after;
    }
    if (STRIP_TAG.has(name)) {
      if (SPACE_TAG.has(name)) this.top.parts.push(' ');
      return afterTag;
    }
    this.top.parts.push('<'); // not HTML MediaWiki knows: shown as text
    return i + 1;
  }

  private findClose(name: string, from: number): { start: number; after: number } | undefined {
    if (this.noClose.has(name)) return undefined;
    let re = this.closeTag.get(name);
    if (!re) {
      re = new RegExp(`</${name}\\s*>`, 'gi');
      this.closeTag.set(name, re);
    }
    re.lastIndex = from;
    const m = re.exec(this.src);
    if (!m) {
      this.noClose.add(name);
      return undefined;
    }
    return { start: m.index, after: m.index + m[0].length };
  }
}

const BOILERPLATE_SECTIONS = new Set([
  'see also', 'references', 'external links', 'external link', 'further reading', 'notes', 'footnotes',
  'bibliography', 'sources', 'citations', 'notes and references', 'references and notes', 'works cited',
  'general references', 'other reading', 'explanatory notes', 'reference notes',
]);

/** `== Title ==` → level 2, "Title"; undefined when the line is not a heading. */
function parseHeading(line: string): { level: number; text: string } | undefined {
  if (line.length < 2 || line[0] !== '=' || line[line.length - 1] !== '=') return undefined;
  let lead = 0;
  while (lead < line.length && line[lead] === '=') lead++;
  if (lead === line.length) return { level: Math.min(6, Math.floor(lead / 2)), text: '' };
  let trail = 0;
  while (line[line.length - 1 - trail] === '=') trail++;
  const level = Math.min(lead, trail, 6);
  return { level, text: line.slice(level, line.length - level).trim() };
}

/** Characters that are formatting, not text: soft hyphen and direction marks. */
const INVISIBLE = /[\u00ad\u200e\u200f\u202a-\u202e\ufeff]/g;

function cleanLine(line: string): string {
  let s = line;
  if (s.startsWith('----')) s = s.replace(/^-{4,}/, '');
  s = s.replace(/^[*#:;]+/, ''); // list and indent markers
  s = s.replace(/'{2,}/g, ''); // bold / italic
  s = s.replace(/__[A-Z]+__/g, ''); // __TOC__, __NOTOC__, ...
  s = decodeHtmlEntities(s).replace(INVISIBLE, '');
  s = s.replace(/\s+/g, ' ');
  // Leftovers of removed templates: "Albedo ( ) or", "word , word".
  s = s.replace(/\(\s*(?:[,;:]\s*)*\)/g, '');
  s = s.replace(/\(\s+/g, '(').replace(/\s+\)/g, ')');
  s = s.replace(/\s+([,.;:!?])(?=\s|$)/g, '$1');
  s = s.replace(/\s{2,}/g, ' ').trim().replace(/^[,.;:]+\s*/, '');
  // A line of bare punctuation ("," or "+ +") is what is left of removed markup.
  return /[\p{L}\p{N}]/u.test(s) ? s : '';
}

/** Plain text of a page's wikitext; see the notes at the top of this file for what is kept. */
export function cleanWikitext(markup: string): string {
  const structural = new Scanner(markup).run();
  const out: string[] = [];
  let skipBelow = 0; // inside a boilerplate section of this level
  for (const raw of structural.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const heading = parseHeading(line);
    if (heading) {
      if (skipBelow && heading.level > skipBelow) continue;
      const name = heading.text.replace(/'{2,}/g, '').trim().toLowerCase();
      skipBelow = BOILERPLATE_SECTIONS.has(name) ? Math.max(1, heading.level) : 0;
      continue;
    }
    if (skipBelow) continue;
    const cleaned = cleanLine(line);
    if (cleaned) out.push(cleaned);
  }
  return out.join('\n');
}
