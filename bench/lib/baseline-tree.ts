import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The `shared/` libraries (and any other paths asked for, e.g. a model directory) of an earlier commit,
 * importable side by side with this tree's: `git archive` into a temporary directory whose node_modules
 * links the third-party packages of this checkout and points @rag/* at the old sources. Lets a benchmark
 * time "before" and "after" in one run on one machine.
 */
export interface BaselineTree {
  ref: string;
  commit: string;
  /** absolute path of <tree>/shared/<lib>/src/index.ts */
  lib(name: string): string;
  /** absolute path of a file or directory of the old tree */
  path(rel: string): string;
  remove(): void;
}

export function checkoutBaseline(repo: string, ref: string, extraPaths: string[] = []): BaselineTree {
  const commit = execFileSync('git', ['-C', repo, 'rev-parse', '--verify', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'rag-baseline-'));
  const tar = join(dir, 'tree.tar');
  execFileSync('git', ['-C', repo, 'archive', '-o', tar, commit, 'shared', ...extraPaths]);
  execFileSync('tar', ['-x', '-f', tar, '-C', dir]);
  rmSync(tar);
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, '@rag'), { recursive: true });
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry === '@rag' || entry === '.bin') continue;
    symlinkSync(join(repo, 'node_modules', entry), join(nm, entry));
  }
  // @rag/* names the shared libraries and the services alike (the workspace layout).
  for (const top of ['shared', 'services']) {
    if (!existsSync(join(dir, top))) continue;
    for (const pkg of readdirSync(join(dir, top))) symlinkSync(join(dir, top, pkg), join(nm, '@rag', pkg));
  }
  return { ref, commit, lib: (name) => join(dir, 'shared', name, 'src', 'index.ts'), path: (rel) => join(dir, rel), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
