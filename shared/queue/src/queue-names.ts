/** The build pipeline's queues, one per stage and worker role. */
export const STAGES = ['ingest', 'encode', 'index', 'publish'] as const;
export type Stage = (typeof STAGES)[number];

/** Question answering: one queue of question chunks, served by `generate` workers. */
export const QA_QUEUE = 'qa';

/** Worker roles users pick with `./rag worker --roles`; `publish` runs with `index`. */
export const ROLES = ['ingest', 'encode', 'index', 'generate'] as const;
export type Role = (typeof ROLES)[number];

export function queuesForRoles(roles: readonly Role[]): Stage[] {
  const out = new Set<string>();
  for (const r of roles) {
    out.add(r);
    if (r === 'index') out.add('publish');
  }
  return STAGES.filter((s) => out.has(s));
}
