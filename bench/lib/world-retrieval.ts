/**
 * Which passages answer a world question, as services/modelkit/src/modelkit/world_data.py decides it
 * (find_positives, question_entities), so that recall@k here means what the world models' training
 * metrics mean (train_question_encoder.retrieval_recall: a top-k passage is a positive).
 */

export interface WorldQuestionRecord {
  id: string;
  question: string;
  answers: Record<string, string[]>;
  type: string;
}

export interface TitledPassage {
  title: string;
  text: string;
}

// Python's `[A-Z][\w'\u2019-]+` with a Unicode \w (letters, digits, underscore).
const CAPITALISED = /[A-Z][\p{L}\p{N}_'\u2019-]+/gu;

/** Capitalised words after the first: the named entities a question is about. */
export function questionEntities(question: string): string[] {
  const words = question.match(CAPITALISED) ?? [];
  return words.slice(1).filter((w) => [...w].length > 1);
}

/**
 * Passages holding a gold answer of `year` and an entity of the question, the entity's own
 * article (title match) first, then those with the canonical answer; at most `limit`.
 */
export function findPositives(passages: readonly TitledPassage[], q: WorldQuestionRecord, year: string, limit = 4): number[] {
  const answers = q.answers[year] ?? [];
  const entities = questionEntities(q.question);
  if (entities.length === 0 || answers.length === 0) return [];
  const scored: Array<[number, number, number]> = [];
  passages.forEach((p, i) => {
    if (!answers.some((a) => p.text.includes(a))) return;
    const inTitle = entities.some((e) => p.title.includes(e));
    if (!inTitle && !entities.some((e) => p.text.includes(e))) return;
    scored.push([inTitle ? 0 : 1, p.text.includes(answers[0]!) ? 0 : 1, i]);
  });
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return scored.slice(0, limit).map(([, , i]) => i);
}
