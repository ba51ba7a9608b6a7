import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanWikitext } from './wikitext-clean.js';
import { decodeHtmlEntities } from './html-entities.js';

test('templates are dropped, including nested ones and ones spanning lines', () => {
  assert.equal(cleanWikitext('A {{cite web|title={{lang|de|Haus}}|url=x}} B'), 'A B');
  assert.equal(
    cleanWikitext('{{Infobox planet\n| name = Earth\n| image = {{!}}x\n| albedo = {{val|0.367}}\n}}\nEarth is a planet.'),
    'Earth is a planet.',
  );
  assert.equal(cleanWikitext('x {{{1|default}}} y'), 'x y');
});

test('tables are dropped, nested tables and templates inside included', () => {
  const src = 'Before.\n{| class="wikitable"\n|-\n! H\n| cell {{x}}\n|-\n|\n{|\n| inner\n|}\n| more\n|}\nAfter.';
  assert.equal(cleanWikitext(src), 'Before.\nAfter.');
});

test('a "|}}" line ending a multi-line template does not close a table that is not open', () => {
  assert.equal(cleanWikitext('{{Infobox\n| a = b\n|}}\nText.'), 'Text.');
});

test('references are dropped: paired, named, self-closing, and <references/>', () => {
  const src =
    'Snow is bright.<ref name="a">{{cite|x}} [http://e.org E]</ref> Ice too.<ref name="a" /> Sea<ref>plain</ref>.\n' +
    '<references/>\n<references>\n<ref name="b">c</ref>\n</references>';
  assert.equal(cleanWikitext(src), 'Snow is bright. Ice too. Sea.');
});

test('file and image links are dropped with their captions, nested links included', () => {
  assert.equal(
    cleanWikitext('[[File:Albedo.svg|thumb|Reflected [[sunlight]] on [[Image:x.png|20px]] snow]]Albedo is a ratio.'),
    'Albedo is a ratio.',
  );
  assert.equal(cleanWikitext('A [[image:y.jpg]] B [[Media:z.ogg|sound]] C'), 'A B C');
});

test('categories and interlanguage links are dropped; a leading colon makes them visible', () => {
  assert.equal(cleanWikitext('Text.\n[[Category:Physics]]\n[[Category:Optics|Albedo]]\n[[de:Albedo]] [[zh-min-nan:Albedo]]'), 'Text.');
  assert.equal(cleanWikitext('See [[:Category:Optics|the optics category]].'), 'See the optics category.');
});

test('wiki links keep their label, or their target, with the link trail', () => {
  assert.equal(cleanWikitext('[[diffuse reflection|diffuse reflectivity]] of [[Latin]] [[dog]]s'), 'diffuse reflectivity of Latin dogs');
  assert.equal(cleanWikitext('[[Paris (band)|]] played'), 'Paris played');
  assert.equal(cleanWikitext("[[Afghan (ethnonym)|''Afghan'']]"), 'Afghan');
});

test('external links show their label; bare-bracket links and URLs without label vanish', () => {
  assert.equal(cleanWikitext('See [http://example.org/a?b=1 the site] and [https://x.org] now.'), 'See the site and now.');
  assert.equal(cleanWikitext('a [not a link] b'), 'a [not a link] b');
});

test('HTML comments are removed, also across lines and inside templates', () => {
  assert.equal(cleanWikitext('A<!-- hidden\n{{x}} -->B {{t|x<!-- }} -->}} C'), 'AB C');
  assert.equal(cleanWikitext('Kept. <!-- never closed\nlost'), 'Kept.');
});

test('harmless inline tags keep their text; math, gallery, timeline and the like are dropped', () => {
  assert.equal(cleanWikitext('H<sub>2</sub>O is <b>water</b>, <span style="x">wet</span>.'), 'H2O is water, wet.');
  assert.equal(cleanWikitext('Euler: <math>e^{i\\pi}+1=0 \\frac{{a}}{b}</math> holds.'), 'Euler: holds.');
  assert.equal(cleanWikitext('<gallery>\nFile:a.jpg|A\n</gallery>\nText<br/>more <BR>end'), 'Text more end');
  assert.equal(cleanWikitext('a <nowiki>[[not a link]]</nowiki> b'), 'a [[not a link]] b');
  assert.equal(cleanWikitext('1 < 2 and 3 > 2'), '1 < 2 and 3 > 2');
});

test('magic words, bold and italic quotes are removed', () => {
  assert.equal(cleanWikitext("__NOTOC__\n'''Albedo''' is ''white''ness.__TOC__"), 'Albedo is whiteness.');
  assert.equal(cleanWikitext("It's Earth's albedo."), "It's Earth's albedo.");
});

test('headings are dropped, and boilerplate sections are dropped with their content', () => {
  const src = [
    'Intro text.',
    '== History ==',
    'Old text.',
    '=== Early ===',
    'Earliest.',
    '== See also ==',
    '* [[Reflectance]]',
    '== References ==',
    '{{reflist}}',
    '=== Sub of references ===',
    'still references',
    '== Legacy ==',
    'Later text.',
    '==External links==',
    '* [http://x.org Site]',
  ].join('\n');
  assert.equal(cleanWikitext(src), 'Intro text.\nOld text.\nEarliest.\nLater text.');
});

test('list markers go, their text stays', () => {
  assert.equal(cleanWikitext('Types:\n* snow\n** fresh snow\n# ice\n: indented\n; term\n----'), 'Types:\nsnow\nfresh snow\nice\nindented\nterm');
});

test('HTML entities are decoded: named, numeric, hex; unknown ones kept', () => {
  assert.equal(
    cleanWikitext('A&amp;B&nbsp;C 1&ndash;2 &mdash; &#8212; &#x263A; &eacute;t&eacute; &alpha;&Omega; &bogus; &lt;b&gt;'),
    'A&B C 1–2 — — ☺ été αΩ &bogus; <b>',
  );
  assert.equal(decodeHtmlEntities('&#0; &#xD800; &#1114112;'), '\ufffd \ufffd \ufffd');
});

test('whitespace is collapsed, empty lines dropped, template leftovers tidied', () => {
  assert.equal(cleanWikitext("'''Albedo''' ({{IPAc-en|æ|l}}) or\t\t  x\n\n\n  next  line {{x}} ."), 'Albedo or x\nnext line.');
  assert.equal(cleanWikitext('Text.\n* {{flag|UK}} ,\n{{x}} + {{y}} +\n: {{Unicode|x}}: Coptic letter'), 'Text.\nCoptic letter');
});

test('unclosed constructs keep their content instead of eating the page', () => {
  assert.equal(cleanWikitext('Start {{broken template\nrest of the article.'), 'Start broken template\nrest of the article.');
  assert.equal(cleanWikitext('a [[broken link b'), 'a broken link b');
  assert.equal(cleanWikitext('x }} y ]] z'), 'x y z');
  assert.equal(cleanWikitext('x <ref>never closed y'), 'x never closed y');
});

test('big pathological pages are cleaned in linear time', () => {
  const n = 200_000;
  const inputs = [
    '{{'.repeat(n), // unclosed openers
    '[['.repeat(n) + ']]'.repeat(n),
    '<ref>'.repeat(n), // unclosed refs
    '<a '.repeat(n), // tag-like text
    "''".repeat(n) + 'x',
    ('word {{t|[[a|b]]}} [[c]] <b>d</b> [http://e f] &amp; ').repeat(n / 10),
  ];
  for (const s of inputs) {
    const t0 = performance.now();
    cleanWikitext(s);
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms on input starting ${JSON.stringify(s.slice(0, 20))}`);
  }
});
