// docker-compose.yml cannot run here (no Docker engine): check that it parses and that every
// service command that runs our image is a real ./rag command with real flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runRag, REPO } from './helpers/run-rag.js';

test('docker-compose.yml services use existing ./rag commands and files', async () => {
  const doc = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'));
  const services = doc.services as Record<string, { command?: string[]; build?: { dockerfile: string }; environment?: Record<string, string> }>;
  for (const name of ['redis', 'minio', 'worker', 'cli']) assert.ok(services[name], `service ${name}`);
  assert.ok(services.redis!.command!.includes('noeviction'), 'BullMQ needs noeviction');
  let checked = 0;
  for (const [name, svc] of Object.entries(services)) {
    if (!svc.build) continue;
    assert.ok(existsSync(join(REPO, svc.build.dockerfile)), `${name}: Dockerfile exists`);
    assert.equal(svc.command![0], './rag');
    const args = svc.command!.slice(1);
    // The words before the first flag name the command; its --help must list every flag used.
    const firstFlag = args.findIndex((a) => a.startsWith('--'));
    const words = firstFlag < 0 ? args : args.slice(0, firstFlag);
    const r = await runRag([...words, '--help'], {});
    assert.equal(r.code, 0, `${name}: ./rag ${words.join(' ')} --help: ${r.stderr}`);
    for (const flag of args.filter((a) => a.startsWith('--'))) assert.ok(r.stdout.includes(flag), `${name}: ${flag} is an option of ./rag ${words.join(' ')}`);
    assert.equal(svc.environment?.REDIS_URL, 'redis://redis:6379');
    checked++;
  }
  assert.ok(checked >= 2);
  const dockerfile = readFileSync(join(REPO, 'infra/docker/Dockerfile'), 'utf8');
  for (const path of ['infra/faiss/build.sh', 'package-lock.json', 'rag']) {
    assert.ok(existsSync(join(REPO, path)), `${path} referenced by the Dockerfile exists`);
    assert.ok(dockerfile.includes(path.split('/').pop()!));
  }
});
