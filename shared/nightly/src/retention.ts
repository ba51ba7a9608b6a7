/** What retention decides from: the night snapshots that exist and what the aliases point at. */
export interface RetentionInput {
  /** Published snapshot ids (all of them; only `<prefix>-<yyyymmdd>` ones are candidates for removal). */
  published: readonly string[];
  snapshotPrefix: string;
  /** The alias's versions, oldest first (voided ones excluded by the caller or flagged). */
  aliasHistory: readonly { snapshot: string; voided?: string }[];
  /** What every alias points at now: never removed. */
  aliasTargets: readonly string[];
  keepNights: number;
  keepAliasVersions: number;
}

export interface RetentionPlan {
  /** Night snapshots kept, newest first, and why. */
  keep: { id: string; why: string }[];
  /** Night snapshots to remove, oldest first. */
  remove: string[];
}

const NIGHT_RE = /-(\d{8})$/;

/**
 * Keep the newest `keepNights` nights, the snapshots of the alias's newest `keepAliasVersions` versions
 * (what it serves and what a rollback goes to), and anything an alias points at; remove the other nights.
 * Snapshots that are not nights of this prefix are never touched.
 */
export function planRetention(o: RetentionInput): RetentionPlan {
  const nights = o.published
    .filter((id) => id.startsWith(`${o.snapshotPrefix}-`) && NIGHT_RE.test(id) && id.length === o.snapshotPrefix.length + 9)
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)); // newest first (yyyymmdd sorts as text)
  const why = new Map<string, string>();
  nights.slice(0, o.keepNights).forEach((id) => why.set(id, `one of the newest ${o.keepNights} nights`));
  const real = o.aliasHistory.filter((r) => !r.voided);
  for (const r of real.slice(-o.keepAliasVersions).reverse()) if (!why.has(r.snapshot)) why.set(r.snapshot, `in the alias's newest ${o.keepAliasVersions} versions`);
  for (const t of o.aliasTargets) if (!why.has(t)) why.set(t, 'an alias points at it');
  const keep = nights.filter((id) => why.has(id)).map((id) => ({ id, why: why.get(id)! }));
  const remove = nights.filter((id) => !why.has(id)).reverse();
  return { keep, remove };
}
