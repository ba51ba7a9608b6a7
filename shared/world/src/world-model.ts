import { UsageError } from '@rag/core';
import {
  NameRegistry, PHONOLOGIES, cityName, countryName, currencyCode, currencyUnit, demonymOf, personName, placeWord,
  workTitle, type Gender, type Phonology,
} from './names.js';
import { Prng } from './prng.js';

/**
 * The facts of one synthetic world, independent of any dump year.
 *
 * Offices are held in terms with start and end years, so "who led X in year Y" is a lookup, and a dump for
 * any year is a view of the same model. Everything is built in fixed order (countries by id, then their people),
 * so one seed gives one world.
 */

export type GovernmentForm =
  | 'parliamentary republic'
  | 'semi-presidential republic'
  | 'federal parliamentary republic'
  | 'constitutional monarchy';

export interface Term {
  personId: number;
  /** Title while in office: "President", "Queen", "Prime Minister"... */
  title: string;
  /** First year in office. */
  start: number;
  /** Year the term ended (successor took over that year); null while still in office at the last dump year. */
  end: number | null;
}

export interface Currency {
  /** "Valdorian zorin" */
  name: string;
  /** "zorin" */
  unit: string;
  /** "VAZ" */
  code: string;
}

export interface Country {
  id: number;
  name: string;
  officialName: string;
  demonym: string;
  phonology: number;
  region: string;
  coastal: boolean;
  government: GovernmentForm;
  legislature: string;
  capital: string;
  /** Other large cities, largest first. */
  cities: string[];
  currency: Currency;
  founded: number;
  founder: string;
  dynasty: string;
  rivers: string[];
  mountains: string[];
  areaKm2: number;
  /** Population by dump year (keys are the years as strings). */
  population: Record<string, number>;
  neighbours: number[];
  /** Title of the head of government, constant over time. */
  hogTitle: string;
  headOfState: Term[];
  headOfGovernment: Term[];
  /** Writers and musicians from this country (person ids). */
  creators: number[];
}

export type PersonRole = 'politician' | 'monarch' | 'novelist' | 'musician' | 'poet';

export interface Person {
  id: number;
  name: string;
  gender: Gender;
  birth: { year: number; month: number; day: number };
  birthplace: string;
  countryId: number;
  role: PersonRole;
  works: number[];
}

export type WorkKind = 'novel' | 'album' | 'poetry collection';

export interface Work {
  id: number;
  title: string;
  kind: WorkKind;
  year: number;
  creatorId: number;
}

export interface World {
  seed: number;
  years: number[];
  regions: string[];
  countries: Country[];
  people: Person[];
  works: Work[];
}

export interface WorldModelOptions {
  seed: number;
  /** Dump years, ascending. */
  years: number[];
  countries: number;
  /** Share of countries whose head of government changes between consecutive dump years (exact count). */
  hogChangeRate: number;
  /** Chance that a republic's head of state changes between consecutive dump years (monarchies: a third of it). */
  hosChangeRate: number;
}

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
  'November', 'December'] as const;
const LEGISLATURES = ['National Assembly', 'Parliament', 'Supreme Council', 'Grand Council', 'Chamber of Deputies',
  'Federal Diet', 'State Assembly', 'People\'s Council'];
const GOVERNMENTS: readonly GovernmentForm[] = ['parliamentary republic', 'parliamentary republic',
  'semi-presidential republic', 'federal parliamentary republic', 'constitutional monarchy', 'constitutional monarchy'];

export function isMonarchy(c: Country): boolean {
  return c.government === 'constitutional monarchy';
}

/** The term in force during `year` (the later one if a change happened that year: dumps are taken after it). */
export function termAt(terms: readonly Term[], year: number): Term {
  for (let i = terms.length - 1; i >= 0; i--) {
    const t = terms[i] as Term;
    if (t.start <= year) return t;
  }
  throw new RangeError(`no term covers ${year}`);
}

export function headOfStateAt(c: Country, year: number): Term {
  return termAt(c.headOfState, year);
}

export function headOfGovernmentAt(c: Country, year: number): Term {
  return termAt(c.headOfGovernment, year);
}

function birthDate(rng: Prng, from: number, to: number): Person['birth'] {
  const month = rng.int(1, 12);
  const days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  return { year: rng.int(from, to), month, day: rng.int(1, days) };
}

export function validateWorldOptions(o: WorldModelOptions): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) problems.push(`seed must be a non-negative integer (got ${o.seed})`);
  if (!Number.isInteger(o.countries) || o.countries < 3 || o.countries > 3000) problems.push(`countries must be an integer in 3..3000 (got ${o.countries})`);
  if (o.years.length === 0) problems.push('years must name at least one year');
  for (const y of o.years) if (!Number.isInteger(y) || y < 1950 || y > 2100) problems.push(`year ${y} is outside 1950..2100`);
  for (let i = 1; i < o.years.length; i++) if ((o.years[i] as number) <= (o.years[i - 1] as number)) problems.push('years must be strictly ascending');
  for (const [k, v] of [['hogChangeRate', o.hogChangeRate], ['hosChangeRate', o.hosChangeRate]] as const) {
    if (!(v >= 0 && v <= 1)) problems.push(`${k} must be within 0..1 (got ${v})`);
  }
  if (problems.length) throw new UsageError(`invalid world options: ${problems.join('; ')}`, { hint: 'fix the listed options', details: { problems } });
}

/** Builds the whole world for a seed. Pure: same options, same world. */
export function buildWorld(opts: WorldModelOptions): World {
  validateWorldOptions(opts);
  const root = new Prng(`world:${opts.seed}`);
  const reg = new NameRegistry();
  const years = opts.years.slice();
  const first = years[0] as number;

  const regionRng = root.fork('regions');
  const regions = Array.from({ length: 6 }, () => placeWord(regionRng, reg, regionRng.pick(PHONOLOGIES)));

  // Map positions decide regions and neighbours: a country borders its nearest few.
  const geoRng = root.fork('geo');
  const points = Array.from({ length: opts.countries }, () => [geoRng.next(), geoRng.next()] as const);
  const neighbours = nearestNeighbours(points, geoRng);

  // Which countries get a new head of government between each pair of dump years: an exact share.
  const changeYears: number[][] = Array.from({ length: opts.countries }, () => []);
  const changeRng = root.fork('hog-changes');
  for (let i = 1; i < years.length; i++) {
    const y0 = years[i - 1] as number;
    const y1 = years[i] as number;
    const k = Math.round(opts.hogChangeRate * opts.countries);
    const ids = changeRng.sample(Array.from({ length: opts.countries }, (_, j) => j), k);
    for (const id of ids) (changeYears[id] as number[]).push(changeRng.int(y0 + 1, y1));
  }
  for (const cy of changeYears) cy.sort((a, b) => a - b);

  const countries: Country[] = [];
  const people: Person[] = [];
  const works: Work[] = [];

  const addPerson = (rng: Prng, p: Phonology, c: { id: number; cities: string[] }, role: PersonRole, born: [number, number], gender?: Gender): Person => {
    const g: Gender = gender ?? (rng.chance(0.5) ? 'female' : 'male');
    const person: Person = {
      id: people.length,
      name: personName(rng, reg, p, g),
      gender: g,
      birth: birthDate(rng, born[0], born[1]),
      birthplace: rng.pick(c.cities),
      countryId: c.id,
      role,
      works: [],
    };
    people.push(person);
    return person;
  };

  for (let id = 0; id < opts.countries; id++) {
    const rng = root.fork(`country:${id}`);
    const phonology = rng.int(0, PHONOLOGIES.length - 1);
    const p = PHONOLOGIES[phonology] as Phonology;
    const name = countryName(rng, reg, p);
    let demonym = demonymOf(name);
    if (!reg.claim(demonym)) demonym = `${name}ese`;
    const government = rng.pick(GOVERNMENTS);
    const officialName = government === 'constitutional monarchy' ? `Kingdom of ${name}`
      : government === 'federal parliamentary republic' ? `Federal Republic of ${name}` : `Republic of ${name}`;
    const capital = cityName(rng, reg, p);
    const cities = [capital, cityName(rng, reg, p), cityName(rng, reg, p), cityName(rng, reg, p)];
    const unit = currencyUnit(rng, reg, p);
    const currency: Currency = { name: `${demonym} ${unit}`, unit, code: currencyCode(rng, reg, name, unit) };
    const [x, y] = points[id] as readonly [number, number];
    const basePop = Math.round(Math.exp(rng.int(0, 1000) / 1000 * Math.log(400)) * 200_000);
    const growth = rng.int(-4, 22) / 1000;
    const population: Record<string, number> = {};
    for (const yr of years) population[String(yr)] = Math.round(basePop * (1 + growth) ** (yr - first) / 100) * 100;

    const country: Country = {
      id,
      name,
      officialName,
      demonym,
      phonology,
      region: regions[Math.min(2, Math.floor(x * 3)) + 3 * Math.min(1, Math.floor(y * 2))] as string,
      coastal: rng.chance(0.6),
      government,
      legislature: rng.pick(LEGISLATURES),
      capital,
      cities: cities.slice(1),
      currency,
      founded: rng.chance(0.3) ? rng.int(1100, 1799) : rng.int(1800, first - 15),
      founder: personName(rng, reg, p, rng.chance(0.5) ? 'female' : 'male'),
      dynasty: placeWord(rng, reg, p),
      rivers: [placeWord(rng, reg, p), placeWord(rng, reg, p)],
      mountains: [placeWord(rng, reg, p)],
      areaKm2: Math.round(Math.exp(rng.int(0, 1000) / 1000 * Math.log(500)) * 2_000),
      population,
      neighbours: neighbours[id] as number[],
      hogTitle: government === 'federal parliamentary republic' ? 'Chancellor' : government === 'semi-presidential republic' && rng.chance(0.4) ? 'Premier' : 'Prime Minister',
      headOfState: [],
      headOfGovernment: [],
      creators: [],
    };
    const place = { id, cities };

    // Head of state: monarchs reign long, presidents serve terms; the same change rule applies per year gap.
    const monarchy = isMonarchy(country);
    const hosTitle = (g: Gender): string => (monarchy ? (g === 'female' ? 'Queen' : 'King') : government === 'federal parliamentary republic' ? 'Federal President' : 'President');
    const hosRate = monarchy ? opts.hosChangeRate / 3 : opts.hosChangeRate;
    let hos = addPerson(rng, p, place, monarchy ? 'monarch' : 'politician', monarchy ? [first - 88, first - 41] : [first - 76, first - 44]);
    country.headOfState.push({ personId: hos.id, title: hosTitle(hos.gender), start: rng.int(first - (monarchy ? 30 : 9), first - 1), end: null });
    for (let i = 1; i < years.length; i++) {
      const changeAt = rng.int((years[i - 1] as number) + 1, years[i] as number);
      if (!rng.chance(hosRate)) continue;
      (country.headOfState[country.headOfState.length - 1] as Term).end = changeAt;
      hos = addPerson(rng, p, place, monarchy ? 'monarch' : 'politician', monarchy ? [first - 61, first - 26] : [first - 71, first - 41]);
      country.headOfState.push({ personId: hos.id, title: hosTitle(hos.gender), start: changeAt, end: null });
    }

    let hog = addPerson(rng, p, place, 'politician', [first - 76, first - 41]);
    country.headOfGovernment.push({ personId: hog.id, title: country.hogTitle, start: rng.int(first - 8, first - 1), end: null });
    for (const changeAt of changeYears[id] as number[]) {
      (country.headOfGovernment[country.headOfGovernment.length - 1] as Term).end = changeAt;
      hog = addPerson(rng, p, place, 'politician', [first - 71, first - 36]);
      country.headOfGovernment.push({ personId: hog.id, title: country.hogTitle, start: changeAt, end: null });
    }

    const nCreators = rng.int(1, 2);
    for (let k = 0; k < nCreators; k++) {
      const role = rng.pick(['novelist', 'novelist', 'musician', 'poet'] as const);
      const creator = addPerson(rng, p, place, role, [first - 84, first - 31]);
      country.creators.push(creator.id);
      const kind: WorkKind = role === 'musician' ? 'album' : role === 'poet' ? 'poetry collection' : 'novel';
      const nWorks = rng.int(1, 3);
      const firstWork = creator.birth.year + rng.int(20, 30);
      const yearsOfWork = rng.sample(Array.from({ length: Math.max(1, Math.min(first - 1, creator.birth.year + 75) - firstWork + 1) }, (_, j) => firstWork + j), nWorks).sort((a, b) => a - b);
      for (const yr of yearsOfWork) {
        const work: Work = { id: works.length, title: workTitle(rng, reg, rng.pick(cities), rng.pick(['Anna', 'Marek', 'Ilse', 'Tomas', 'Sofia', 'Elin'])), kind, year: Math.min(yr, first - 1), creatorId: creator.id };
        works.push(work);
        creator.works.push(work.id);
      }
    }
    countries.push(country);
  }
  return { seed: opts.seed, years, regions, countries, people, works };
}

/** Each point's 2–4 nearest others, made symmetric (borders are mutual); ids sorted ascending. */
function nearestNeighbours(points: ReadonlyArray<readonly [number, number]>, rng: Prng): number[][] {
  const n = points.length;
  const sets: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  for (let i = 0; i < n; i++) {
    const [xi, yi] = points[i] as readonly [number, number];
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    const d = (j: number): number => {
      const [xj, yj] = points[j] as readonly [number, number];
      return (xi - xj) ** 2 + (yi - yj) ** 2;
    };
    order.sort((a, b) => d(a) - d(b) || a - b);
    const k = rng.int(2, Math.min(4, n - 1));
    for (const j of order.slice(0, k)) {
      (sets[i] as Set<number>).add(j);
      (sets[j] as Set<number>).add(i);
    }
  }
  return sets.map((s) => [...s].sort((a, b) => a - b));
}
