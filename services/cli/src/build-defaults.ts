/**
 * `snapshot build`'s defaults, in one place: the demo builds the enwiki sample with exactly these, so
 * the README's own build of the same dump finds the demo's encode and index work (same shard inputs).
 */
export const DEFAULT_SHARD_SIZE = 2000;
export const DEFAULT_WORDS_PER_PASSAGE = 100;
/** A quarter of a default shard: 4 encode jobs per shard, ~10 s each for MiniLM on one core. */
export const DEFAULT_ENCODE_PART = 500;
