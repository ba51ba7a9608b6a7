import { UsageError } from '@rag/core';
import type { Prng } from './prng.js';

/**
 * Pronounceable invented names, built from syllables.
 *
 * Each country draws its names from one of a few "phonologies" so that its cities and people sound related.
 * Every proper noun in a world is claimed in one NameRegistry, so no two things share a name and a question
 * that names a person, city or book always has exactly one answer.
 */

export type Gender = 'female' | 'male';

export interface Phonology {
  onsets: readonly string[];
  vowels: readonly string[];
  codas: readonly string[];
  countryEndings: readonly string[];
  cityEndings: readonly string[];
  surnameEndings: readonly string[];
  givenEndings: Readonly<Record<Gender, readonly string[]>>;
}

export const PHONOLOGIES: readonly Phonology[] = [
  {
    onsets: ['b', 'c', 'd', 'f', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'br', 'tr', 'gr', 'cl'],
    vowels: ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o'],
    codas: ['', '', '', 'n', 'r', 'l', 's'],
    countryEndings: ['ia', 'ora', 'ana', 'eria', 'ino', 'essa'],
    cityEndings: ['a', 'ino', 'essa', 'ona', 'ento', 'ara'],
    surnameEndings: ['ini', 'ez', 'ari', 'eira', 'ano', 'elli'],
    givenEndings: { male: ['o', 'io', 'an', 'el'], female: ['a', 'ia', 'ina', 'ela'] },
  },
  {
    onsets: ['b', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'r', 's', 't', 'v', 'sk', 'st', 'th'],
    vowels: ['a', 'e', 'i', 'o', 'u', 'y', 'ei', 'a'],
    codas: ['', 'n', 'r', 'l', 'k', 'rd', 'nd', ''],
    countryEndings: ['land', 'mark', 'heim', 'vik', 'ria', 'gard'],
    cityEndings: ['holm', 'vik', 'by', 'stad', 'berg', 'fjord'],
    surnameEndings: ['sen', 'son', 'berg', 'dahl', 'strom', 'lund'],
    givenEndings: { male: ['ar', 'ulf', 'ik', 'en'], female: ['a', 'hild', 'rid', 'ny'] },
  },
  {
    onsets: ['b', 'd', 'g', 'k', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'zh', 'sl', 'dr', 'kr'],
    vowels: ['a', 'e', 'i', 'o', 'u', 'ya', 'a', 'o'],
    codas: ['', '', 'v', 'k', 'n', 'sh', 'r'],
    countryEndings: ['ovia', 'avia', 'istan', 'ania', 'esh', 'ary'],
    cityEndings: ['grad', 'ovo', 'ets', 'insk', 'ava', 'itsa'],
    surnameEndings: ['ov', 'enko', 'escu', 'ic', 'ski', 'ovic'],
    givenEndings: { male: ['an', 'ir', 'ek', 'omir'], female: ['a', 'ina', 'ka', 'ena'] },
  },
  {
    onsets: ['h', 'k', 'l', 'm', 'n', 'p', 't', 'w', 'ng', 'r'],
    vowels: ['a', 'e', 'i', 'o', 'u', 'ai', 'au', 'ei'],
    codas: ['', '', '', 'n'],
    countryEndings: ['ua', 'oa', 'ari', 'ani', 'iki', 'ona'],
    cityEndings: ['ika', 'ono', 'ea', 'iri', 'apu', 'ola'],
    surnameEndings: ['aka', 'ori', 'ane', 'ulu', 'eka', 'ita'],
    givenEndings: { male: ['o', 'u', 'ai', 'eke'], female: ['a', 'e', 'ani', 'ina'] },
  },
];

/** Sovereign states and common short forms that a generated country must never be called. */
const REAL_COUNTRIES = `afghanistan albania algeria andorra angola antigua argentina armenia australia austria azerbaijan
bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia botswana brazil brunei bulgaria
burkina burma burundi cambodia cameroon canada chad chile china colombia comoros congo croatia cuba cyprus czechia
denmark djibouti dominica ecuador egypt eritrea estonia eswatini ethiopia fiji finland france gabon gambia georgia
germany ghana greece grenada guatemala guinea guyana haiti honduras hungary iceland india indonesia iran iraq ireland
israel italy jamaica japan jordan kazakhstan kenya kiribati korea kosovo kuwait kyrgyzstan laos latvia lebanon lesotho
liberia libya liechtenstein lithuania luxembourg madagascar malawi malaysia maldives mali malta mauritania mauritius
mexico micronesia moldova monaco mongolia montenegro morocco mozambique myanmar namibia nauru nepal netherlands
nicaragua niger nigeria norway oman pakistan palau palestine panama paraguay peru philippines poland portugal qatar
romania russia rwanda samoa senegal serbia seychelles singapore slovakia slovenia somalia spain sudan suriname sweden
switzerland syria taiwan tajikistan tanzania thailand togo tonga trinidad tunisia turkey turkmenistan tuvalu uganda
ukraine uruguay uzbekistan vanuatu vatican venezuela vietnam yemen zambia zimbabwe england scotland wales greenland
prussia bavaria bohemia moravia serbia dalmatia livonia courland ruthenia tartary persia siam ceylon zaire rhodesia
abyssinia castile aragon navarre catalonia galicia andalusia lombardy tuscany saxony silesia pomerania transylvania
wallachia bessarabia macedonia thrace anatolia armenia georgia crimea tibet manchuria mongolia korea nubia numidia
mauretania carthage babylonia assyria phoenicia judea samaria arabia iberia gaul britannia hispania dacia illyria
scythia parthia media lydia caria lycia cilicia galatia bithynia pontus cappadocia cyrenaica tripolitania libya`;

export const REAL_COUNTRY_NAMES: ReadonlySet<string> = new Set(REAL_COUNTRIES.split(/\s+/).filter(Boolean));

/** Holds every name already used in one world (compared without case). */
export class NameRegistry {
  private readonly used = new Set<string>();

  has(name: string): boolean {
    return this.used.has(name.toLowerCase());
  }

  /** Takes the name if it is free; false if taken. */
  claim(name: string): boolean {
    const k = name.toLowerCase();
    if (this.used.has(k)) return false;
    this.used.add(k);
    return true;
  }

  get size(): number {
    return this.used.size;
  }

  /** Draws from `make` until a free name comes up, then claims it. */
  unique(what: string, make: () => string, accept: (name: string) => boolean = () => true): string {
    for (let attempt = 0; attempt < 2000; attempt++) {
      const name = make();
      if (accept(name) && this.claim(name)) return name;
    }
    throw new UsageError(`ran out of distinct ${what} names`, {
      hint: 'ask for fewer countries or people in one world',
      details: { what, used: this.used.size },
    });
  }
}

export function capitalize(s: string): string {
  return s.length === 0 ? s : s.charAt(0).toUpperCase() + s.slice(1);
}

const VOWEL = /[aeiouy]/;

/** Joins a stem and an ending without stacking vowels ("Tomo" + "ia" -> "Tomia"). */
function join(stem: string, ending: string): string {
  if (ending.length > 0 && VOWEL.test(ending.charAt(0))) {
    let s = stem;
    while (s.length > 2 && VOWEL.test(s.charAt(s.length - 1))) s = s.slice(0, -1);
    return s + ending;
  }
  return stem + ending;
}

function syllable(rng: Prng, p: Phonology, withCoda: boolean): string {
  return rng.pick(p.onsets) + rng.pick(p.vowels) + (withCoda ? rng.pick(p.codas) : '');
}

function stem(rng: Prng, p: Phonology, min: number, max: number): string {
  const n = rng.int(min, max);
  let s = '';
  for (let i = 0; i < n; i++) s += syllable(rng, p, i === n - 1 || rng.chance(0.3));
  return s;
}

/** Rejects names that are too short, too long, or awkward to read (three consonants, doubled letters). */
function readable(name: string, min = 4, max = 12): boolean {
  if (name.length < min || name.length > max) return false;
  const lower = name.toLowerCase();
  if (/[^aeiouy\s]{4}/.test(lower)) return false;
  if (/(.)\1\1/.test(lower)) return false;
  return !/[aeiouy]{3}/.test(lower);
}

export function countryName(rng: Prng, reg: NameRegistry, p: Phonology): string {
  return reg.unique(
    'country',
    () => capitalize(join(stem(rng, p, 1, 2), rng.pick(p.countryEndings))),
    (n) => readable(n, 5, 12) && !REAL_COUNTRY_NAMES.has(n.toLowerCase()),
  );
}

/** "Valdoria" -> "Valdorian", "Norland" -> "Norlandic", "Karistan" -> "Karistani". */
export function demonymOf(country: string): string {
  if (/land$|mark$|gard$|heim$/.test(country)) return `${country}ic`;
  if (/(stan|esh|vik)$/.test(country)) return `${country}i`;
  if (/[ae]$/.test(country) || /ia$/.test(country)) return `${country}n`;
  if (/[iouy]$/.test(country)) return `${country}an`;
  return `${country}ian`;
}

export function cityName(rng: Prng, reg: NameRegistry, p: Phonology): string {
  return reg.unique('city', () => capitalize(join(stem(rng, p, 1, 2), rng.pick(p.cityEndings))), (n) => readable(n, 4, 13));
}

/** Rivers, mountains, dynasties and founders: single proper nouns that colour the prose. */
export function placeWord(rng: Prng, reg: NameRegistry, p: Phonology): string {
  return reg.unique('place', () => capitalize(stem(rng, p, 2, 3)), (n) => readable(n, 4, 10));
}

export function givenName(rng: Prng, p: Phonology, gender: Gender): string {
  for (;;) {
    const n = capitalize(join(stem(rng, p, 1, 2), rng.pick(p.givenEndings[gender])));
    if (readable(n, 3, 10)) return n;
  }
}

export function surname(rng: Prng, p: Phonology): string {
  for (;;) {
    const n = capitalize(join(stem(rng, p, 1, 2), rng.pick(p.surnameEndings)));
    if (readable(n, 4, 12)) return n;
  }
}

/** "Given Surname", unique across the world (so "When was X born?" has one answer). */
export function personName(rng: Prng, reg: NameRegistry, p: Phonology, gender: Gender): string {
  return reg.unique('person', () => `${givenName(rng, p, gender)} ${surname(rng, p)}`);
}

/** A currency unit word ("zorin"), unique, lower case as English writes currency units. */
export function currencyUnit(rng: Prng, reg: NameRegistry, p: Phonology): string {
  const endings = ['ar', 'en', 'o', 'ka', 'ira', 'mark', 'al', 'et'];
  return reg.unique('currency', () => join(stem(rng, p, 1, 1), rng.pick(endings)), (n) => readable(n, 3, 9) && !REAL_CURRENCY.has(n));
}

const REAL_CURRENCY = new Set(['euro', 'dollar', 'pound', 'yen', 'yuan', 'rupee', 'franc', 'mark', 'lira', 'peso', 'real', 'rand', 'krona', 'krone', 'dinar', 'rial', 'dram', 'lev', 'leu', 'lek', 'kuna', 'zloty', 'forint', 'ruble', 'won', 'baht', 'kip', 'taka', 'naira', 'cedi', 'birr', 'kwacha', 'dirham', 'shekel', 'manat', 'tenge', 'som', 'lari', 'denar', 'koruna', 'litas', 'lats', 'kroon', 'tolar', 'escudo', 'peseta', 'drachma', 'guilder', 'florin']);

/** A three-letter code in the ISO 4217 style, unique within the world. */
export function currencyCode(rng: Prng, reg: NameRegistry, country: string, unit: string): string {
  const first = [country.slice(0, 2).toUpperCase() + unit.charAt(0).toUpperCase()];
  let i = 0;
  return reg.unique('currency code', () => {
    const c = i < first.length ? (first[i] as string) : String.fromCharCode(65 + rng.int(0, 25), 65 + rng.int(0, 25), 65 + rng.int(0, 25));
    i++;
    return `code:${c}`;
  }).slice(5);
}

const ADJECTIVES = ['Silent', 'Broken', 'Golden', 'Hollow', 'Distant', 'Burning', 'Quiet', 'Northern', 'Last', 'Forgotten',
  'Crimson', 'Endless', 'Salt', 'Paper', 'Iron', 'Winter', 'Summer', 'Hidden', 'Wandering', 'Glass', 'Amber', 'Pale',
  'Bitter', 'Velvet', 'Wild', 'Lonely', 'Bright', 'Sleeping', 'Seventh', 'Drowned', 'Copper', 'Restless', 'Blue', 'Narrow'];
const NOUNS = ['Harbour', 'River', 'Garden', 'Lantern', 'Orchard', 'Mirror', 'Bridge', 'Tide', 'Kingdom', 'Letter', 'Season',
  'Engine', 'Choir', 'Island', 'Shore', 'Archive', 'Compass', 'Meadow', 'Tower', 'Crown', 'Harvest', 'Voyage', 'Widow',
  'Orchestra', 'Signal', 'Lighthouse', 'Frontier', 'Fever', 'Carnival', 'Atlas', 'Ferry', 'Quarry', 'Monsoon', 'Furnace'];

/** Titles for books and albums: "The Silent Harbour", "Lanterns of Berimo", "The Tide and the Crown". */
export function workTitle(rng: Prng, reg: NameRegistry, city: string, given: string): string {
  return reg.unique('work title', () => {
    const a = rng.pick(ADJECTIVES);
    const n = rng.pick(NOUNS);
    switch (rng.int(0, 5)) {
      case 0: return `The ${a} ${n}`;
      case 1: return `${a} ${n}s`;
      case 2: return `${n}s of ${city}`;
      case 3: return `A ${n} for ${given}`;
      case 4: return `The ${n} and the ${rng.pick(NOUNS.filter((x) => x !== n))}`;
      default: return `${a} ${n}`;
    }
  });
}
