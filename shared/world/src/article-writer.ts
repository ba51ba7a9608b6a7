import { Prng } from './prng.js';
import { filler, fillerContext, formatInt } from './prose.js';
import {
  MONTHS, headOfGovernmentAt, headOfStateAt, isMonarchy, type Country, type Person, type Term, type Work, type World,
} from './world-model.js';

/**
 * Wikitext articles for one dump year.
 *
 * Random choices come from a stream keyed by the page alone, never by the year, and are all drawn whether or
 * not a year uses them; so the 2016 and 2018 texts of a page differ only in sentences built from year-dependent
 * facts (office holders, population, "As of <year>"). Markup is deliberately Wikipedia-like (infoboxes, refs,
 * files, tables, categories) so the ingest cleaner has the same work as on a real dump.
 */

export interface Article {
  title: string;
  text: string;
}

/** One office a person holds at some point: which country, which term, who came before and after. */
export interface OfficeRecord {
  country: Country;
  kind: 'head-of-state' | 'head-of-government';
  term: Term;
  predecessor: Person | null;
  successor: Person | null;
}

/** Everything the writer needs about a world, computed once and shared by both years. */
export class WorldIndex {
  readonly offices: OfficeRecord[][];
  constructor(readonly world: World) {
    this.offices = world.people.map(() => []);
    for (const c of world.countries) {
      for (const [kind, terms] of [['head-of-state', c.headOfState], ['head-of-government', c.headOfGovernment]] as const) {
        terms.forEach((term, i) => {
          const prev = terms[i - 1];
          const next = terms[i + 1];
          (this.offices[term.personId] as OfficeRecord[]).push({
            country: c,
            kind,
            term,
            predecessor: prev ? this.person(prev.personId) : null,
            successor: next ? this.person(next.personId) : null,
          });
        });
      }
    }
  }

  person(id: number): Person {
    return this.world.people[id] as Person;
  }

  country(id: number): Country {
    return this.world.countries[id] as Country;
  }

  work(id: number): Work {
    return this.world.works[id] as Work;
  }
}

const pronoun = (p: Person): { sub: string; pos: string; Sub: string } =>
  p.gender === 'female' ? { sub: 'she', pos: 'her', Sub: 'She' } : { sub: 'he', pos: 'his', Sub: 'He' };

export function formatDate(b: Person['birth']): string {
  return `${b.day} ${MONTHS[b.month - 1]} ${b.year}`;
}

function listLinks(names: readonly string[]): string {
  const links = names.map((n) => `[[${n}]]`);
  if (links.length <= 1) return links.join('');
  return `${links.slice(0, -1).join(', ')} and ${links[links.length - 1]}`;
}

/** Year of the dump before `year`, or null for the first dump year. */
function previousDumpYear(world: World, year: number): number | null {
  const i = world.years.indexOf(year);
  return i > 0 ? (world.years[i - 1] as number) : null;
}

function paragraphs(...paras: string[][]): string {
  return paras.map((p) => p.join(' ')).filter((p) => p.length > 0).join('\n\n');
}

export function writeCountryArticle(ix: WorldIndex, c: Country, year: number): Article {
  const { world } = ix;
  const rng = new Prng(`world:${world.seed}`).fork(`article:country:${c.id}`);
  const f = fillerContext(world, c, rng);
  const hosTerm = headOfStateAt(c, year);
  const hogTerm = headOfGovernmentAt(c, year);
  const hos = ix.person(hosTerm.personId);
  const hog = ix.person(hogTerm.personId);
  const prevYear = previousDumpYear(world, year);
  const pop = c.population[String(year)] as number;
  const neighbours = c.neighbours.map((id) => ix.country(id).name);
  const creators = c.creators.map((id) => ix.person(id));

  // Every draw happens here, in the same order for every year.
  const history = filler(f, 'history', 9);
  const geography = filler(f, 'geography', 7);
  const politics = filler(f, 'politics', 6);
  const economy = filler(f, 'economy', 6);
  const demographics = filler(f, 'demographics', 3);
  const culture = filler(f, 'culture', 5);
  const foundingVariant = rng.int(0, 2);
  const capitalVariant = rng.int(0, 2);
  const currencyVariant = rng.int(0, 2);
  const currencySince = rng.int(Math.max(c.founded, 1850), (world.years[0] as number) - 5);
  // City sizes follow the first dump year's population, so the census table stays plausible.
  const basePop = c.population[String(world.years[0])] as number;
  const capitalPop = Math.round((basePop * rng.int(12, 30)) / 100 / 1000) * 1000 + 1000;
  const cityPops = c.cities.map(() => Math.round((capitalPop * rng.int(10, 60)) / 100 / 1000) * 1000 + 1000).sort((a, b) => b - a);
  const censusYear = f.pastYear(2005);

  const foundingSentence = [
    `The first unified ${c.demonym} state was founded in ${c.founded}, when [[${c.founder}]] brought the ${c.dynasty} lands under a single ruler.`,
    `${c.name} was founded in ${c.founded} by [[${c.founder}]], who united the towns of the ${c.rivers[0]} valley.`,
    `According to most historians, ${c.name} was founded in ${c.founded}, after [[${c.founder}]] defeated the last of the ${c.dynasty} princes.<ref>{{cite journal |last=${c.dynasty} |title=The origins of the ${c.demonym} state |journal=Historical Review |year=${censusYear} }}</ref>`,
  ][foundingVariant] as string;
  const capitalSentence = [
    `The capital and largest city is [[${c.capital}]], which lies on the ${c.rivers[0]} River.`,
    `[[${c.capital}]] is the capital of ${c.name} and its largest city, with about ${formatInt(capitalPop)} inhabitants.`,
    `The capital of ${c.name} is [[${c.capital}]], the country's largest city and its commercial centre.<ref name="cities">{{cite web |title=Cities of ${c.name} |publisher=${c.name} Statistical Office |year=${censusYear} }}</ref>`,
  ][capitalVariant] as string;
  const currencySentence = [
    `The currency of ${c.name} is the [[${c.currency.name}]] (${c.currency.code}), which has been in use since ${currencySince}.`,
    `${c.name} uses the [[${c.currency.name}]] (ISO code ${c.currency.code}) as its currency.`,
    `The national currency is the [[${c.currency.name}|${c.currency.unit}]] (${c.currency.code}), issued by the Central Bank of ${c.name}.<ref>{{cite web |title=Banknotes and coins |publisher=Central Bank of ${c.name} }}</ref>`,
  ][currencyVariant] as string;

  const hosLink = `[[${hos.name}]]`;
  const hogLink = `[[${hog.name}]]`;
  const hosSentence = isMonarchy(c)
    ? `${c.name} is a [[constitutional monarchy]]; the head of state is ${hosTerm.title} ${hosLink}, who has reigned since ${hosTerm.start}.`
    : `The head of state is the [[${hosTerm.title} of ${c.name}|${hosTerm.title.toLowerCase()}]], ${hosLink}, in office since ${hosTerm.start}.`;
  const hogSentence = `Executive power lies with the ${c.hogTitle.toLowerCase()} and the cabinet; the [[${c.hogTitle} of ${c.name}|${c.hogTitle.toLowerCase()}]] is ${hogLink}, who took office in ${hogTerm.start}.<ref>{{cite news |title=${hog.name} sworn in as ${c.hogTitle.toLowerCase()} |work=${c.capital} Herald |year=${hogTerm.start} }}</ref>`;
  const politicsFacts = [hosSentence, hogSentence];
  const hogPrev = ix.offices[hog.id]?.find((o) => o.kind === 'head-of-government')?.predecessor;
  if (prevYear !== null && hogTerm.start > prevYear && hogPrev) {
    politicsFacts.push(`${hog.name} succeeded [[${hogPrev.name}]] after the ${hogTerm.start} general election.`);
  }
  politicsFacts.push(`As of ${year}, the ${c.hogTitle.toLowerCase()} of ${c.name} is ${hog.name} and the head of state is ${hosTerm.title} ${hos.name}.`);

  const creatorSentences = creators.map((p) => {
    const w = p.works.map((id) => ix.work(id));
    const first = w[0] as Work;
    return `The ${p.role} [[${p.name}]] is known for ''[[${first.title}]]'' (${first.year})${w.length > 1 ? ` and ${w.length > 2 ? 'two later works' : 'one later work'}` : ''}.`;
  });

  const infobox = [
    '{{Infobox country',
    `| conventional_long_name = ${c.officialName}`,
    `| common_name = ${c.name}`,
    `| image_flag = Flag of ${c.name}.svg`,
    `| capital = [[${c.capital}]]`,
    `| largest_city = capital`,
    `| official_languages = [[${c.demonym} language|${c.demonym}]]`,
    `| demonym = ${c.demonym}`,
    `| government_type = [[${c.government}]]`,
    `| leader_title1 = [[${hosTerm.title} of ${c.name}|${hosTerm.title}]]`,
    `| leader_name1 = [[${hos.name}]]`,
    `| leader_title2 = [[${c.hogTitle} of ${c.name}|${c.hogTitle}]]`,
    `| leader_name2 = [[${hog.name}]]`,
    `| legislature = ${c.legislature}`,
    `| established_event1 = Founded`,
    `| established_date1 = ${c.founded}`,
    `| area_km2 = ${formatInt(c.areaKm2)}`,
    `| population_estimate = ${formatInt(pop)}`,
    `| population_estimate_year = ${year}`,
    `| currency = [[${c.currency.name}]]`,
    `| currency_code = ${c.currency.code}`,
    '}}',
  ].join('\n');

  const table = [
    '{| class="wikitable sortable"',
    `|+ Largest cities (${censusYear} census)`,
    '! Rank !! City !! Population',
    ...[c.capital, ...c.cities].map((city, i) => `|-\n| ${i + 1} || [[${city}]] || ${formatInt(i === 0 ? capitalPop : (cityPops[i - 1] as number))}`),
    '|}',
  ].join('\n');

  const lead = `'''${c.name}''', officially the '''${c.officialName}''', is a ${c.coastal ? 'coastal' : '[[landlocked country|landlocked]]'} country in [[${c.region}]]. It shares borders with ${listLinks(neighbours)}. ${history[0]}`;

  const text = [
    `{{Short description|Country in ${c.region}}}`,
    `{{Use dmy dates|date=January ${year}}}`,
    infobox,
    lead,
    '',
    '== History ==',
    paragraphs(history.slice(1, 4), [foundingSentence, ...history.slice(4, 6)], history.slice(6)),
    '',
    '== Geography ==',
    `[[File:${c.name} topography.png|thumb|right|Relief map of ${c.name}]]`,
    paragraphs(geography.slice(0, 3), [capitalSentence, ...geography.slice(3, 5)], geography.slice(5)),
    '',
    '== Politics ==',
    paragraphs(politics.slice(0, 3), politicsFacts, politics.slice(3)),
    '',
    '== Economy ==',
    '<!-- Figures below come from the statistical office; update them together. -->',
    paragraphs(economy.slice(0, 3), [currencySentence, ...economy.slice(3)]),
    '',
    '== Demographics ==',
    paragraphs([`As of ${year}, the population of ${c.name} was estimated at ${formatInt(pop)}.<ref name="census">{{cite web |title=Population estimates |publisher=${c.name} Statistical Office |year=${year} }}</ref>`, ...demographics]),
    table,
    '',
    '== Culture ==',
    paragraphs(culture, creatorSentences),
    '',
    '== See also ==',
    `* [[Outline of ${c.name}]]`,
    `* [[List of cities in ${c.name}]]`,
    '',
    '== References ==',
    '{{Reflist}}',
    '',
    `[[Category:Countries in ${c.region}]]`,
    `[[Category:States and territories established in ${c.founded}]]`,
    `[[Category:${c.government.charAt(0).toUpperCase()}${c.government.slice(1)}s]]`,
  ].join('\n');
  return { title: c.name, text };
}

/** What a politician or monarch was doing in `year`, as a clause and as sentences for the career section. */
function officeStatus(ix: WorldIndex, p: Person, year: number): { lead: string; career: string[] } {
  const records = ix.offices[p.id] ?? [];
  const current = records.find((o) => o.term.start <= year && (o.term.end === null || o.term.end > year));
  const past = records.find((o) => o.term.end !== null && o.term.end <= year);
  const { Sub, pos } = pronoun(p);
  const career: string[] = [];
  let lead: string;
  if (current) {
    const { country: c, term } = current;
    lead = p.role === 'monarch'
      ? `is the ${term.title} of [[${c.name}]], reigning since ${term.start}`
      : `is a ${c.demonym} politician who has served as ${term.title} of [[${c.name}]] since ${term.start}`;
    career.push(p.role === 'monarch'
      ? `${Sub} acceded to the throne of ${c.name} in ${term.start}${current.predecessor ? `, succeeding [[${current.predecessor.name}]]` : ''}.`
      : `In ${term.start} ${pronoun(p).sub} became ${term.title} of ${c.name}${current.predecessor ? `, succeeding [[${current.predecessor.name}]]` : ''}.`);
    career.push(`As of ${year}, ${p.name} is the ${term.title.toLowerCase()} of ${c.name}.`);
  } else if (past) {
    const { country: c, term } = past;
    lead = p.role === 'monarch'
      ? `was the ${term.title} of [[${c.name}]] from ${term.start} to ${term.end}`
      : `is a ${c.demonym} politician who served as ${term.title} of [[${c.name}]] from ${term.start} to ${term.end}`;
    career.push(`${Sub} left office as ${term.title} of ${c.name} in ${term.end}${past.successor ? ` and was succeeded by [[${past.successor.name}]]` : ''}.`);
  } else {
    const c = ix.country(p.countryId);
    lead = p.role === 'monarch'
      ? `is a member of the ${c.name} royal family and heir to the throne of [[${c.name}]]`
      : `is a ${c.demonym} politician and a member of the ${c.legislature}`;
    career.push(p.role === 'monarch'
      ? `${Sub} has carried out official engagements on behalf of the royal house of ${c.name}.`
      : `${Sub} has sat in the ${c.legislature} of ${c.name} and chaired several of ${pos} party's committees.`);
  }
  return { lead, career };
}

export function writePersonArticle(ix: WorldIndex, p: Person, year: number): Article {
  const { world } = ix;
  const c = ix.country(p.countryId);
  const rng = new Prng(`world:${world.seed}`).fork(`article:person:${p.id}`);
  const f = fillerContext(world, c, rng);
  const early = filler(f, 'person-early', 3);
  const later = filler(f, 'person-later', 3);
  const { Sub } = pronoun(p);
  const born = formatDate(p.birth);
  const birthTemplate = `{{birth date and age|${p.birth.year}|${p.birth.month}|${p.birth.day}|df=y}}`;
  const works = p.works.map((id) => ix.work(id));
  const political = p.role === 'politician' || p.role === 'monarch';

  let lead: string;
  let careerHeading: string;
  let career: string[];
  let infobox: string;
  if (political) {
    const status = officeStatus(ix, p, year);
    lead = `'''${p.name}''' (born ${born}) ${status.lead}.`;
    careerHeading = p.role === 'monarch' ? 'Reign' : 'Political career';
    career = [
      p.role === 'monarch'
        ? `${Sub} was educated privately and served briefly in the navy before taking on public duties.`
        : `${Sub} joined a political party as a student and was first elected to the ${c.legislature} in ${rng.int(p.birth.year + 25, p.birth.year + 38)}.`,
      ...status.career,
    ];
    infobox = `{{Infobox officeholder\n| name = ${p.name}\n| birth_date = ${birthTemplate}\n| birth_place = [[${p.birthplace}]], ${c.name}\n| nationality = ${c.demonym}\n}}`;
  } else {
    const what = p.role === 'musician' ? 'singer-songwriter' : p.role;
    lead = `'''${p.name}''' (born ${born}) is a ${c.demonym} ${what}, best known for ''[[${(works[0] as Work).title}]]''.`;
    careerHeading = 'Career';
    career = [
      `${Sub} published ${pronoun(p).pos} first work in ${(works[0] as Work).year} and has since been translated into several languages.`,
      `Critics in [[${c.capital}]] have praised the clear style and the attention to everyday life in the ${c.rivers[0]} valley.`,
    ];
    infobox = `{{Infobox writer\n| name = ${p.name}\n| birth_date = ${birthTemplate}\n| birth_place = [[${p.birthplace}]], ${c.name}\n| occupation = ${p.role}\n}}`;
  }

  const text = [
    infobox,
    lead,
    '',
    '== Early life and education ==',
    paragraphs([`${p.name} was born on ${born} in [[${p.birthplace}]], ${c.name}.`, ...early]),
    '',
    `== ${careerHeading} ==`,
    paragraphs(career),
    ...(works.length
      ? ['', p.role === 'musician' ? '== Discography ==' : '== Works ==', ...works.map((w) => `* ''[[${w.title}]]'' (${w.year})`)]
      : []),
    '',
    '== Personal life ==',
    paragraphs(later),
    '',
    '== References ==',
    '{{Reflist}}',
    '',
    `[[Category:${p.birth.year} births]]`,
    `[[Category:${c.demonym} ${political ? (p.role === 'monarch' ? 'monarchs' : 'politicians') : `${p.role}s`}]]`,
  ].join('\n');
  return { title: p.name, text };
}

export function writeWorkArticle(ix: WorldIndex, w: Work): Article {
  const p = ix.person(w.creatorId);
  const c = ix.country(p.countryId);
  const rng = new Prng(`world:${ix.world.seed}`).fork(`article:work:${w.id}`);
  const what = w.kind === 'album' ? 'studio album' : w.kind;
  const verb = w.kind === 'album' ? 'recorded' : 'written';
  const sold = rng.int(5, 300) * 1000;
  const text = [
    `{{Infobox ${w.kind === 'album' ? 'album' : 'book'}\n| name = ${w.title}\n| author = [[${p.name}]]\n| country = ${c.name}\n| published = ${w.year}\n}}`,
    `'''''${w.title}''''' is a ${w.year} ${what} by the ${c.demonym} ${p.role} [[${p.name}]].`,
    '',
    '== Background ==',
    `The ${w.kind} was ${verb} by ${p.name} over several years in [[${p.birthplace}]] and was released in ${w.year}. It draws on memories of the ${c.rivers[rng.int(0, 1)]} valley and on stories heard in childhood.`,
    '',
    '== Reception ==',
    `Reviewers in ${c.name} called it ${rng.pick(['a quiet triumph', 'uneven but ambitious', 'a landmark', 'a modest success', 'a bold departure'])}, and it sold about ${formatInt(sold)} copies in its first year.`,
    '',
    '== References ==',
    '{{Reflist}}',
    '',
    `[[Category:${w.year} ${w.kind === 'album' ? 'albums' : 'books'}]]`,
    `[[Category:Works by ${p.name}]]`,
  ].join('\n');
  return { title: w.title, text };
}

export function writeCityArticle(ix: WorldIndex, c: Country): Article {
  const rng = new Prng(`world:${ix.world.seed}`).fork(`article:city:${c.id}`);
  const since = rng.int(Math.min(c.founded + 1, (ix.world.years[0] as number) - 3), (ix.world.years[0] as number) - 3);
  const text = [
    `{{Infobox settlement\n| name = ${c.capital}\n| subdivision_type = Country\n| subdivision_name = [[${c.name}]]\n}}`,
    `'''${c.capital}''' is the capital and largest city of [[${c.name}]]. It lies on the ${c.rivers[0]} River and has been the seat of government since ${since}.`,
    '',
    '== History ==',
    `The old town grew up around a river crossing guarded by the ${c.dynasty} family, and its cathedral and market hall date from the ${rng.pick(['fourteenth', 'fifteenth', 'sixteenth', 'seventeenth'])} century. Much of the centre was rebuilt after a fire in ${rng.int(1700, 1900)}.`,
    '',
    '== Geography ==',
    `The city spreads along both banks of the ${c.rivers[0]}, with newer districts climbing the hills to the ${rng.pick(['north', 'east', 'west', 'south'])}. [[${c.cities[0]}]] lies ${rng.int(40, 300)}&nbsp;km away by rail.`,
    '',
    `[[Category:Capitals in ${c.region}]]`,
    `[[Category:Cities in ${c.name}]]`,
  ].join('\n');
  return { title: c.capital, text };
}
