import { z } from 'zod';
import { formatDate } from './article-writer.js';
import { Prng } from './prng.js';
import { headOfGovernmentAt, headOfStateAt, isMonarchy, type Country, type Person, type World } from './world-model.js';

/**
 * Questions over a world, one text for every dump year, with the answers each year's dump supports.
 *
 * 'changing': a single fact that differs between years (new head of government); 'invariant': a single fact
 * that does not; 'multi-fact': needs two facts chained ("the prime minister of the country whose capital is X").
 * Every name in a world is unique, so every question has exactly one answer per year (aliases aside).
 */

export const QUESTION_TYPES = ['changing', 'invariant', 'multi-fact'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const QUESTION_RELATIONS = [
  'head_of_government', 'head_of_state', 'capital', 'currency', 'founded', 'birth_date', 'creator',
  'head_of_government_by_capital', 'head_of_government_birth_date', 'capital_by_currency', 'founded_by_capital',
] as const;
export type QuestionRelation = (typeof QUESTION_RELATIONS)[number];

export const worldQuestionSchema = z.object({
  question: z.string().min(10).endsWith('?'),
  /** Keyed by dump year; the first string is the canonical answer, the rest are accepted aliases. */
  answers: z.record(z.string().regex(/^\d{4}$/), z.array(z.string().min(1)).min(1)),
  type: z.enum(QUESTION_TYPES),
  relation: z.enum(QUESTION_RELATIONS),
  id: z.string().regex(/^q\d{5}$/),
});
export type WorldQuestion = z.infer<typeof worldQuestionSchema>;

export interface QuestionOptions {
  /** How many to keep (default 1500); fewer when the world cannot supply that many. */
  count: number;
  /** Target shares per type; leftovers go to the other types. */
  shares?: Record<QuestionType, number>;
}

export const DEFAULT_QUESTION_SHARES: Record<QuestionType, number> = { changing: 0.35, invariant: 0.4, 'multi-fact': 0.25 };

type Draft = Omit<WorldQuestion, 'id'>;

function perYear(world: World, answer: (year: number) => string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const y of world.years) out[String(y)] = answer(y);
  return out;
}

function sameEveryYear(answers: Record<string, string[]>): boolean {
  const first = JSON.stringify(Object.values(answers)[0]);
  return Object.values(answers).every((a) => JSON.stringify(a) === first);
}

function single(world: World, question: string, relation: QuestionRelation, answer: (year: number) => string[]): Draft {
  const answers = perYear(world, answer);
  return { question, answers, type: sameEveryYear(answers) ? 'invariant' : 'changing', relation };
}

function multi(world: World, question: string, relation: QuestionRelation, answer: (year: number) => string[]): Draft {
  return { question, answers: perYear(world, answer), type: 'multi-fact', relation };
}

const birthAnswers = (p: Person): string[] => [String(p.birth.year), formatDate(p.birth)];

/** Every question the world supports, in a fixed order (countries, then people, then works). */
export function questionPool(world: World): Draft[] {
  const rng = new Prng(`world:${world.seed}`).fork('questions:phrasing');
  const person = (id: number): Person => world.people[id] as Person;
  const out: Draft[] = [];
  for (const c of world.countries) {
    const hog = c.hogTitle.toLowerCase();
    const hosWording = isMonarchy(c) ? rng.pick(['head of state', 'monarch']) : rng.pick(['head of state', 'president']);
    out.push(single(world, `Who is the ${hog} of ${c.name}?`, 'head_of_government', (y) => [person(headOfGovernmentAt(c, y).personId).name]));
    out.push(single(world, `Who is the ${hosWording} of ${c.name}?`, 'head_of_state', (y) => {
      const t = headOfStateAt(c, y);
      const name = person(t.personId).name;
      return isMonarchy(c) ? [name, `${t.title} ${name}`] : [name];
    }));
    out.push(single(world, `What is the capital of ${c.name}?`, 'capital', () => [c.capital]));
    out.push(single(world, `What currency is used in ${c.name}?`, 'currency', () => [c.currency.name, c.currency.unit]));
    out.push(single(world, `In what year was ${c.name} founded?`, 'founded', () => [String(c.founded)]));
    out.push(...multiFact(world, c, rng, person));
  }
  for (const p of world.people) out.push(single(world, `When was ${p.name} born?`, 'birth_date', () => birthAnswers(p)));
  for (const w of world.works) {
    const q = w.kind === 'album' ? `Who recorded the album ${w.title}?` : `Who wrote ${w.title}?`;
    out.push(single(world, q, 'creator', () => [person(w.creatorId).name]));
  }
  return out;
}

function multiFact(world: World, c: Country, rng: Prng, person: (id: number) => Person): Draft[] {
  const hog = c.hogTitle.toLowerCase();
  const all = [
    () => multi(world, `Who is the ${hog} of the country whose capital is ${c.capital}?`, 'head_of_government_by_capital', (y) => [person(headOfGovernmentAt(c, y).personId).name]),
    () => multi(world, `When was the ${hog} of ${c.name} born?`, 'head_of_government_birth_date', (y) => birthAnswers(person(headOfGovernmentAt(c, y).personId))),
    () => multi(world, `What is the capital of the country whose currency is the ${c.currency.name}?`, 'capital_by_currency', () => [c.capital]),
    () => multi(world, `In what year was the country whose capital is ${c.capital} founded?`, 'founded_by_capital', () => [String(c.founded)]),
  ];
  // Two of the four per country keeps the pool varied without every country asking everything.
  return rng.sample([0, 1, 2, 3], 2).sort((a, b) => a - b).map((i) => (all[i] as () => Draft)());
}

/** Picks `count` questions by type share, deterministic for the world's seed, kept in pool order, numbered. */
export function selectQuestions(world: World, opts: QuestionOptions): WorldQuestion[] {
  const pool = questionPool(world);
  const shares = opts.shares ?? DEFAULT_QUESTION_SHARES;
  const rng = new Prng(`world:${world.seed}`).fork('questions:select');
  const byType = new Map<QuestionType, number[]>(QUESTION_TYPES.map((t) => [t, []]));
  pool.forEach((q, i) => byType.get(q.type)?.push(i));
  const shuffled = new Map<QuestionType, number[]>(QUESTION_TYPES.map((t) => [t, rng.shuffle(byType.get(t) ?? [])]));
  const target = Math.min(opts.count, pool.length);
  const taken = new Map<QuestionType, number>(QUESTION_TYPES.map((t) => [t, 0]));
  let remaining = target;
  for (const t of QUESTION_TYPES) {
    const k = Math.min(Math.round(target * shares[t]), (shuffled.get(t) ?? []).length, remaining);
    taken.set(t, k);
    remaining -= k;
  }
  // Types that ran short leave room; fill it from the others in a fixed order.
  for (const t of QUESTION_TYPES) {
    if (remaining <= 0) break;
    const have = taken.get(t) ?? 0;
    const extra = Math.min(remaining, (shuffled.get(t) ?? []).length - have);
    taken.set(t, have + extra);
    remaining -= extra;
  }
  const chosen = QUESTION_TYPES.flatMap((t) => (shuffled.get(t) ?? []).slice(0, taken.get(t) ?? 0)).sort((a, b) => a - b);
  return chosen.map((i, n) => ({ ...(pool[i] as Draft), id: `q${String(n + 1).padStart(5, '0')}` }));
}

/** One JSONL line, keys in a fixed order. */
export function questionLine(q: WorldQuestion): string {
  return JSON.stringify({ question: q.question, answers: q.answers, type: q.type, relation: q.relation, id: q.id });
}
