/** Named entities that occur in wikitext; letters with diacritics and Greek letters are generated below. */
const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'",
  nbsp: '\u00a0', ensp: '\u2002', emsp: '\u2003', thinsp: '\u2009', hairsp: '\u200a', numsp: '\u2007',
  zwj: '\u200d', zwnj: '\u200c', lrm: '\u200e', rlm: '\u200f', shy: '\u00ad',
  ndash: '\u2013', mdash: '\u2014', minus: '\u2212', hellip: '\u2026', middot: '\u00b7', bull: '\u2022',
  lsquo: '\u2018', rsquo: '\u2019', sbquo: '\u201a', ldquo: '\u201c', rdquo: '\u201d', bdquo: '\u201e',
  laquo: '\u00ab', raquo: '\u00bb', lsaquo: '\u2039', rsaquo: '\u203a', prime: '\u2032', Prime: '\u2033',
  times: '\u00d7', divide: '\u00f7', plusmn: '\u00b1', deg: '\u00b0', micro: '\u00b5', permil: '\u2030',
  frac12: '\u00bd', frac14: '\u00bc', frac34: '\u00be', sup1: '\u00b9', sup2: '\u00b2', sup3: '\u00b3',
  le: '\u2264', ge: '\u2265', ne: '\u2260', asymp: '\u2248', equiv: '\u2261', infin: '\u221e', sum: '\u2211',
  prod: '\u220f', radic: '\u221a', part: '\u2202', int: '\u222b', isin: '\u2208', empty: '\u2205',
  larr: '\u2190', rarr: '\u2192', uarr: '\u2191', darr: '\u2193', harr: '\u2194', rArr: '\u21d2', hArr: '\u21d4',
  copy: '\u00a9', reg: '\u00ae', trade: '\u2122', sect: '\u00a7', para: '\u00b6', dagger: '\u2020', Dagger: '\u2021',
  euro: '\u20ac', pound: '\u00a3', yen: '\u00a5', cent: '\u00a2', curren: '\u00a4', iexcl: '\u00a1', iquest: '\u00bf',
  ordf: '\u00aa', ordm: '\u00ba', not: '\u00ac', macr: '\u00af', acute: '\u00b4', uml: '\u00a8', cedil: '\u00b8',
  szlig: '\u00df', aelig: '\u00e6', AElig: '\u00c6', oelig: '\u0153', OElig: '\u0152', oslash: '\u00f8',
  Oslash: '\u00d8', eth: '\u00f0', ETH: '\u00d0', thorn: '\u00fe', THORN: '\u00de', fnof: '\u0192',
  loz: '\u25ca', spades: '\u2660', clubs: '\u2663', hearts: '\u2665', diams: '\u2666', star: '\u2606',
};

const GREEK = [
  'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu',
  'xi', 'omicron', 'pi', 'rho', 'sigmaf', 'sigma', 'tau', 'upsilon', 'phi', 'chi', 'psi', 'omega',
];
GREEK.forEach((name, i) => {
  NAMED[name] = String.fromCodePoint(0x3b1 + i);
  // Capitals sit 0x20 lower; there is no capital final sigma.
  if (name !== 'sigmaf') NAMED[name[0]!.toUpperCase() + name.slice(1)] = String.fromCodePoint(0x391 + i);
});

const COMBINING: Record<string, string> = {
  acute: '\u0301', grave: '\u0300', circ: '\u0302', uml: '\u0308', tilde: '\u0303', ring: '\u030a', cedil: '\u0327', caron: '\u030c',
};
const ACCENTED = /^([A-Za-z])(acute|grave|circ|uml|tilde|ring|cedil|caron)$/;

function named(name: string): string | undefined {
  const hit = NAMED[name];
  if (hit !== undefined) return hit;
  const m = ACCENTED.exec(name);
  if (!m) return undefined;
  const composed = (m[1]! + COMBINING[m[2]!]!).normalize('NFC');
  return composed.length === 1 ? composed : undefined;
}

function codePoint(n: number): string {
  if (!Number.isFinite(n) || n <= 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(n);
}

const ENTITY = /&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));/g;

/** Decodes named and numeric character references; unknown names are left as written. */
export function decodeHtmlEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (dec !== undefined) return codePoint(Number.parseInt(dec, 10));
    if (hex !== undefined) return codePoint(Number.parseInt(hex, 16));
    return named(name!) ?? whole;
  });
}
