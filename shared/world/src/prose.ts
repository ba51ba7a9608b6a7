import type { Prng } from './prng.js';
import type { Country, World } from './world-model.js';

/**
 * Filler sentences that make articles read like encyclopaedia prose and give each key fact its own passage.
 *
 * Filler never states a key fact (no "capital", "currency", "founded", office titles, dump years), so the
 * only passage that answers a question is the one the article writer puts the fact in. Years used here stay
 * well before the first dump year, so a dump-year token in a diff always means a year-dependent fact.
 */

const INDUSTRIES = ['textiles', 'shipbuilding', 'copper mining', 'tourism', 'fisheries', 'software', 'forestry', 'brewing',
  'steelmaking', 'chemicals', 'insurance', 'logistics', 'ceramics', 'glassmaking', 'food processing', 'printing'];
const CROPS = ['barley', 'rye', 'olives', 'rice', 'tea', 'grapes', 'potatoes', 'maize', 'sugar beet', 'flax', 'citrus fruit',
  'hops', 'buckwheat', 'sunflowers', 'millet'];
const EXPORTS = ['timber', 'wool', 'machinery', 'wine', 'salted fish', 'salt', 'electronics', 'cotton', 'marble', 'paper',
  'cheese', 'glassware', 'fertiliser', 'leather goods'];
const CLIMATES = ['a temperate oceanic', 'a humid continental', 'a dry summer', 'a subarctic', 'a tropical monsoon',
  'a semi-arid', 'a mild maritime', 'an alpine'];
const SPORTS = ['football', 'rowing', 'wrestling', 'cycling', 'basketball', 'handball', 'ice hockey', 'volleyball', 'chess',
  'archery', 'sailing', 'fencing'];
const ARTS = ['folk music', 'puppet theatre', 'embroidery', 'choral singing', 'woodcarving', 'lyric poetry', 'documentary film',
  'opera', 'icon painting', 'street theatre', 'jazz', 'pottery'];
const DISHES = ['a stew of lamb and barley', 'smoked fish with rye bread', 'dumplings filled with cheese', 'flatbread baked on stone',
  'a soup of beans and sorrel', 'rice cooked with saffron and raisins', 'grilled river trout', 'pickled cabbage with pork'];
const ANIMALS = ['brown bears', 'lynx', 'wild boar', 'otters', 'storks', 'white-tailed eagles', 'red deer', 'wolves', 'flamingos',
  'sea turtles', 'ibex', 'beavers'];
const TREES = ['beech', 'oak', 'pine', 'birch', 'cork oak', 'larch', 'mangrove', 'cedar', 'chestnut'];
const INSTITUTIONS = ['the national library', 'the state conservatory', 'the polytechnic institute', 'the academy of sciences',
  'the national museum', 'the botanical garden', 'the observatory', 'the opera house'];
const EVENTS = ['a long drought', 'a cholera outbreak', 'a series of peasant revolts', 'a border war', 'a severe earthquake',
  'a famine', 'a banking crisis', 'a great fire'];

export interface FillerContext {
  world: World;
  country: Country;
  rng: Prng;
  /** A year strictly before the first dump year minus one, never after it. */
  pastYear(min?: number): number;
}

export function fillerContext(world: World, country: Country, rng: Prng): FillerContext {
  const latest = (world.years[0] as number) - 3;
  return {
    world,
    country,
    rng,
    pastYear: (min = 1600) => rng.int(Math.min(min, latest), latest),
  };
}

type Template = (f: FillerContext) => string;

const nb = (c: Country, f: FillerContext): string => {
  const id = f.rng.pick(c.neighbours);
  return (f.world.countries[id] as Country).name;
};

const HISTORY: Template[] = [
  (f) => `Archaeological finds near [[${f.rng.pick(f.country.cities)}]] show that the ${f.rng.pick(f.country.rivers)} valley was settled by farming communities long before written records began.`,
  (f) => `During the Middle Ages the region was divided among rival lords, and the ${f.country.dynasty} family gradually extended its influence over the lowland estates.`,
  (f) => `Trade along the ${f.rng.pick(f.country.rivers)} brought merchants from [[${nb(f.country, f)}]] and beyond, and several market towns received charters in this period.`,
  (f) => `In ${f.pastYear(1700)} the country suffered ${f.rng.pick(EVENTS)}, which reduced the rural population and prompted a wave of emigration to the coast.`,
  (f) => `The nineteenth century brought railways, newspapers and a ${f.country.demonym} literary revival that celebrated the language of the countryside.`,
  (f) => `A treaty signed in ${f.pastYear(1800)} fixed the border with [[${nb(f.country, f)}]] along the watershed of the ${f.country.mountains[0]} range.`,
  (f) => `The country remained neutral for much of the twentieth century, although ${f.rng.pick(EVENTS)} in ${f.pastYear(1900)} strained relations with its neighbours.`,
  (f) => `Land reform in ${f.pastYear(1920)} broke up the largest estates and created tens of thousands of small family farms.`,
  (f) => `Historians such as [[${f.country.founder.split(' ')[0]} ${f.country.dynasty}son]] have described this era as a slow transition from a feudal economy to a trading one.<ref>{{cite book |last=${f.country.dynasty} |title=A Short History of ${f.country.name} |year=${f.pastYear(1950)} }}</ref>`,
  (f) => `Industrialisation reached the ${f.rng.pick(f.country.rivers)} basin late, and as late as ${f.pastYear(1900)} most people still worked on the land.`,
  (f) => `A new constitution adopted in ${f.pastYear(1946)} introduced universal suffrage and a bill of rights modelled on those of its neighbours.`,
  (f) => `The end of the Cold War opened the economy to foreign investment, and membership of several regional organisations followed.`,
];

const GEOGRAPHY: Template[] = [
  (f) => `The country covers an area of about ${formatInt(f.country.areaKm2)}&nbsp;km<sup>2</sup>, much of it ${f.country.coastal ? 'low-lying coastal plain' : 'rolling upland'}.`,
  (f) => `The ${f.country.mountains[0]} Mountains rise in the ${f.rng.pick(['north', 'east', 'west', 'south'])}, and their highest peak is covered in snow for most of the year.`,
  (f) => `The longest river is the [[${f.country.rivers[0]} River|${f.country.rivers[0]}]], which drains most of the interior before it ${f.country.coastal ? 'reaches the sea' : 'crosses into a neighbouring country'}.`,
  (f) => `Most of the country has ${f.rng.pick(CLIMATES)} climate, with rainfall heaviest in ${f.rng.pick(['spring', 'autumn', 'late summer', 'winter'])}.`,
  (f) => `Forests of ${series(f.rng.sample(TREES, 2))} cover roughly a ${f.rng.pick(['third', 'quarter', 'fifth', 'tenth'])} of the land, and national parks protect ${series(f.rng.sample(ANIMALS, 2))}.`,
  (f) => `${f.country.coastal ? `The coastline is indented with bays and small islands, and the port of [[${f.rng.pick(f.country.cities)}]] handles most sea freight.` : `Being landlocked, the country depends on rail and river links through [[${nb(f.country, f)}]] for access to the sea.`}`,
  (f) => `The ${f.country.rivers[1]} valley is the most densely settled part of the country and contains its best farmland.`,
  (f) => `Earthquakes are rare, but floods along the ${f.rng.pick(f.country.rivers)} have repeatedly damaged towns in the lowlands.`,
  (f) => `Other large cities include [[${f.country.cities[0]}]], [[${f.country.cities[1]}]] and [[${f.country.cities[2]}]].`,
];

const POLITICS: Template[] = [
  (f) => `The [[${f.country.legislature} (${f.country.name})|${f.country.legislature}]] is elected every ${f.rng.pick(['four', 'five'])} years by proportional representation.`,
  (f) => `The constitution guarantees an independent judiciary, headed by a supreme court whose judges serve until the age of ${f.rng.pick(['65', '68', '70', '72'])}.`,
  (f) => `Local government is organised in ${f.rng.int(6, 28)} provinces, each with an elected council and a governor.`,
  (f) => `Coalition governments are the norm, and no single party has won an outright majority since ${f.pastYear(1950)}.`,
  (f) => `The country maintains embassies in most of its neighbours and is a member of several regional organisations.`,
  (f) => `Voter turnout has declined from its post-war peak, prompting debate about compulsory voting and electoral reform.`,
  (f) => `Relations with [[${nb(f.country, f)}]] are close, and the two states share a customs agreement and an open border.`,
  (f) => `The armed forces are small and are used mainly for disaster relief and international peacekeeping missions.`,
];

const ECONOMY: Template[] = [
  (f) => `The economy rests on ${series(f.rng.sample(INDUSTRIES, 2))} and a growing service sector.`,
  (f) => `Farmers grow ${series(f.rng.sample(CROPS, 3))}, much of it for export.`,
  (f) => `The main exports are ${series(f.rng.sample(EXPORTS, 3))}, sold mostly to [[${nb(f.country, f)}]].`,
  (f) => `Unemployment is highest in the rural ${f.rng.pick(['north', 'east', 'west', 'south'])}, where many young people leave for the cities.`,
  (f) => `Tourism has grown steadily, with visitors drawn to the ${f.country.mountains[0]} Mountains and to the old town of [[${f.rng.pick(f.country.cities)}]].`,
  (f) => `Hydroelectric dams on the ${f.rng.pick(f.country.rivers)} supply a large share of the country's electricity.`,
  (f) => `A stock exchange opened in [[${f.rng.pick(f.country.cities)}]] in ${f.pastYear(1990)}, and several state companies were later privatised.`,
  (f) => `The road network was modernised with loans from regional development banks, and a high-speed rail line is under discussion.{{citation needed|date=${f.rng.pick(['March', 'June', 'October'])} ${f.pastYear(2005)}}}`,
];

const CULTURE: Template[] = [
  (f) => `${f.country.demonym} culture is known for its ${series(f.rng.sample(ARTS, 2))}.`,
  (f) => `The national dish is ${f.rng.pick(DISHES)}, usually served at family gatherings.`,
  (f) => `${capitalizeFirst(series(f.rng.sample(SPORTS, 2), ' is the most popular sport, followed by '))}.`,
  (f) => `A midsummer festival on the banks of the ${f.rng.pick(f.country.rivers)} attracts tens of thousands of visitors every year.`,
  (f) => `Important institutions include ${series(f.rng.sample(INSTITUTIONS, 2))}, both in [[${f.rng.pick(f.country.cities)}]].`,
  (f) => `Folk songs collected in the nineteenth century remain a source for modern composers and pop musicians alike.`,
  (f) => `Traditional houses in the ${f.country.mountains[0]} region are built of ${f.rng.pick(TREES)} timber with steep shingle roofs.`,
];

const DEMOGRAPHICS: Template[] = [
  (f) => `The official language is [[${f.country.demonym} language|${f.country.demonym}]], and ${f.rng.int(60, 95)}% of the population speak it as a first language.`,
  (f) => `About ${f.rng.int(40, 85)}% of the population live in towns and cities.`,
  (f) => `Life expectancy at birth is ${f.rng.int(68, 83)} years, and the median age is ${f.rng.int(24, 46)}.`,
  (f) => `Minority communities from [[${nb(f.country, f)}]] live mainly in the border districts.`,
];

/** Generic sentences for people's lives, keyed by where they appear. */
const PERSON_EARLY: Template[] = [
  () => `Both parents were schoolteachers, and the family moved several times during childhood.`,
  (f) => `After secondary school, studies in ${f.rng.pick(['law', 'economics', 'history', 'engineering', 'medicine', 'philosophy', 'music', 'literature'])} followed at ${f.rng.pick(INSTITUTIONS.slice(2, 4))}.`,
  () => `A scholarship later allowed a year of study abroad, an experience described as formative in later interviews.`,
  (f) => `Early jobs included work as a ${f.rng.pick(['journalist', 'clerk', 'translator', 'teacher', 'bookseller', 'tram conductor'])}.`,
];
const PERSON_LATER: Template[] = [
  () => `Colleagues have described a reserved manner in public and a sharp wit in private.`,
  (f) => `Outside work, interests include ${f.rng.pick(SPORTS)} and ${f.rng.pick(ARTS)}.`,
  () => `Several honorary doctorates have been awarded by universities at home and abroad.`,
  (f) => `A biography published in ${f.pastYear(1995)} drew on letters and diaries from the family archive.`,
];

/** 1234567 -> "1,234,567" (no locale data involved, so output never varies by machine). */
export function formatInt(n: number): string {
  const s = String(Math.abs(Math.round(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s.charAt(i);
  }
  return n < 0 ? `-${out}` : out;
}

/** "a, b and c"; `last` joins the final pair. */
function series(items: readonly string[], last = ' and '): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')}${last}${items[items.length - 1]}`;
}

function capitalizeFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export type SectionKind = 'history' | 'geography' | 'politics' | 'economy' | 'culture' | 'demographics' | 'person-early' | 'person-later';

const BANKS: Record<SectionKind, Template[]> = {
  history: HISTORY,
  geography: GEOGRAPHY,
  politics: POLITICS,
  economy: ECONOMY,
  culture: CULTURE,
  demographics: DEMOGRAPHICS,
  'person-early': PERSON_EARLY,
  'person-later': PERSON_LATER,
};

/** `n` different filler sentences for a section, in random order. */
export function filler(f: FillerContext, kind: SectionKind, n: number): string[] {
  return f.rng.sample(BANKS[kind], n).map((t) => t(f));
}
