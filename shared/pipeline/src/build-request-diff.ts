import { sha256 } from '@rag/core';
import type { BuildRequest } from './job-payloads.schema.js';

/**
 * What makes two build requests the same build: everything but when it was asked for and how ingest
 * is split into jobs (range jobs give the same shards as one job).
 */
export function buildRequestEssentials(r: BuildRequest): Record<string, unknown> {
  return {
    source: `${r.source.path} (${r.source.format})`,
    shardSize: r.shardSize,
    wordsPerPassage: r.wordsPerPassage,
    index: `${r.index.kind}${Object.keys(r.index.params).length ? ` ${JSON.stringify(Object.fromEntries(Object.entries(r.index.params).sort()))}` : ''}`,
    encoder: r.encoderDir,
    base: r.base ?? '(none)',
    skipBadLines: r.skipBadLines ? 'yes' : 'no',
    // Fields added later count only when set, so leases recorded before them still compare equal.
    ...(r.retrain ? { retrain: 'yes' } : {}),
    ...(r.quantizerFrom ? { quantizerFrom: r.quantizerFrom } : {}),
  };
}

/** Stable digest of a request's essentials: equal digests, same build. */
export function buildRequestSha256(r: BuildRequest): string {
  return sha256(JSON.stringify(buildRequestEssentials(r)));
}

/**
 * Human-readable differences, "shardSize 40 (running) vs 2000 (this command)", empty when the
 * builds are the same. Takes requests or their essentials (as a build lease records them).
 */
export function diffBuildRequests(running: BuildRequest | Record<string, unknown>, mine: BuildRequest): string[] {
  const a = 'requestedAt' in running ? buildRequestEssentials(running as BuildRequest) : running;
  const b = buildRequestEssentials(mine);
  return Object.keys(b).filter((k) => a[k] !== b[k]).map((k) => `${k} ${a[k] === undefined ? '?' : String(a[k])} (running) vs ${String(b[k])} (this command)`);
}
