import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError, readTextFileSync } from '@rag/core';

/** `knowledge` of a generator trained only on the synthetic worlds (models/world-generator). */
export const WORLD_ONLY_KNOWLEDGE = 'synthetic-world-only';

/** What a generator's model card (PROVENANCE.json, written by modelkit) says about it; empty without a card. */
export interface GeneratorCard {
  model?: string;
  /** What it knows: WORLD_ONLY_KNOWLEDGE for the shipped world generator; absent for other exports. */
  knowledge?: string;
}

export function readGeneratorCard(dir: string): GeneratorCard {
  const path = join(dir, 'PROVENANCE.json');
  if (!existsSync(path)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readTextFileSync(path, { expected: 'a JSON model card' }));
  } catch (err) {
    if (err instanceof SyntaxError) throw new ModelLoadError(`cannot parse ${path}: ${err.message}`, { cause: err, hint: 'fix or delete the model card (it is optional)' });
    throw err;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return {};
  const { model, knowledge } = json as Record<string, unknown>;
  return { ...(typeof model === 'string' ? { model } : {}), ...(typeof knowledge === 'string' ? { knowledge } : {}) };
}

/** True when the card marks the generator as knowing only the synthetic world (its answers elsewhere are not real). */
export function isWorldOnlyGenerator(dir: string): boolean {
  return readGeneratorCard(dir).knowledge === WORLD_ONLY_KNOWLEDGE;
}
