// docker-compose.yml cannot run here (no Docker engine): check that it parses, that every
// service command that runs our image is a real ./rag command with real flags, and that its
// defaults are safe (internal network, loopback-only ports, no default credentials, Redis password).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runRag, REPO } from './helpers/run-rag.js';

interface Service {
  command?: string[];
  entrypoint?: string[];
  build?: { dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  networks?: string[];
  image?: string;
}
const text = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
const doc = parse(text, { merge: true });
const services = doc.services as Record<string, Service>;

/**
 * Compose's variable interpolation, as much as this file uses: ${VAR}, ${VAR:-default},
 * ${VAR:?message} (fails when VAR is unset or empty) and $$ (a literal $).
 */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$';
    const v = env[name!];
    if (op === ':?' || op === '?') {
      if (v === undefined || (op === ':?' && v === '')) throw new Error(`${name}: ${arg}`);
      return v;
    }
    if (op === ':-' || op === '-') return v === undefined || (op === ':-' && v === '') ? arg! : v;
    return v ?? '';
  });
}

function interpolateAll(node: unknown, env: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((x) => interpolateAll(x, env));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  return node;
}

test('docker-compose.yml services use existing ./rag commands and files', async () => {
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
    // Every process of ours talks to the password-protected Redis service.
    assert.match(svc.environment?.REDIS_URL ?? '', /^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/, `${name}: REDIS_URL`);
    checked++;
  }
  assert.ok(checked >= 2);
  const dockerfile = readFileSync(join(REPO, 'infra/docker/Dockerfile'), 'utf8');
  for (const path of ['infra/faiss/build.sh', 'package-lock.json', 'rag']) {
    assert.ok(existsSync(join(REPO, path)), `${path} referenced by the Dockerfile exists`);
    assert.ok(dockerfile.includes(path.split('/').pop()!));
  }
});

test('docker-compose.yml: Redis and MinIO only on an internal network; published ports on loopback only', () => {
  const networks = doc.networks as Record<string, { internal?: boolean } | null>;
  for (const name of ['redis', 'minio']) {
    const svc = services[name]!;
    assert.equal(svc.ports, undefined, `${name} publishes no port`);
    assert.ok(svc.networks?.length, `${name} is on named networks only`);
    for (const n of svc.networks!) assert.equal(networks[n]?.internal, true, `${name}: network ${n} is internal`);
  }
  for (const [name, svc] of Object.entries(services)) {
    for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:\d+:\d+$/, `${name}: port ${p} is published on loopback only`);
  }
  assert.deepEqual(services.coordinator!.ports, ['127.0.0.1:9400:9400']);
  // Workers need no route out either: only the backend network.
  assert.deepEqual(services.worker!.networks, ['backend']);
});

test('docker-compose.yml: credentials only from the environment, no defaults that work; Redis has a password', () => {
  // With nothing set, compose must refuse (every secret is ${VAR:?message}), naming what is missing.
  assert.throws(() => interpolateAll(doc, {}), /REDIS_PASSWORD|MINIO_ROOT_USER|MINIO_ROOT_PASSWORD/);
  for (const v of ['REDIS_PASSWORD', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD']) {
    const env = { REDIS_PASSWORD: 'r'.repeat(24), MINIO_ROOT_USER: 'rag', MINIO_ROOT_PASSWORD: 'm'.repeat(24) };
    delete (env as Record<string, string>)[v];
    assert.throws(() => interpolateAll(doc, env), new RegExp(v), `${v} is required`);
    assert.doesNotMatch(text, new RegExp(`\\$\\{${v}:?-`), `${v} has no default`);
  }
  assert.doesNotMatch(text, /minioadmin/, 'no well-known default credentials');
  const secrets = { REDIS_PASSWORD: 'redis-secret-1234567890', MINIO_ROOT_USER: 'rag-user', MINIO_ROOT_PASSWORD: 'minio-secret-1234567890' };
  const resolved = interpolateAll(doc, secrets) as { services: Record<string, Service> };
  const s = resolved.services;
  assert.equal(s.worker!.environment!.REDIS_URL, 'redis://:redis-secret-1234567890@redis:6379');
  assert.equal(s.worker!.environment!.AWS_SECRET_ACCESS_KEY, 'minio-secret-1234567890');
  assert.equal(s.minio!.environment!.MINIO_ROOT_PASSWORD, 'minio-secret-1234567890');
  // Redis reads its password from the environment into a config file; it is not on the command line.
  assert.equal(s.redis!.environment!.REDIS_PASSWORD, 'redis-secret-1234567890');
  assert.match(s.redis!.entrypoint!.join(' '), /requirepass %s.*"\$REDIS_PASSWORD" > \/tmp\/redis\.conf && exec redis-server \/tmp\/redis\.conf/);
  assert.ok(!s.redis!.command!.join(' ').includes('redis-secret'), 'password not on the command line');
  // The admin token is optional (read-only dashboard without it) and passed only to the coordinator.
  assert.equal(s.coordinator!.environment!.RAG_ADMIN_TOKEN, '');
  assert.equal(s.worker!.environment!.RAG_ADMIN_TOKEN, undefined);
  assert.equal(s.worker!.environment!.RAG_SOURCE_ROOTS, '/data');
});
