import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * mkdir -p that always ends. Node's `mkdir(dir, {recursive: true})` never settles where mkdir fails
 * with ENOENT although the parent exists (under /proc, some FUSE mounts): RAG_STORAGE=/proc/x made
 * every ingest job hang. Here a directory that still cannot be made once its parent exists fails.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    if (errCode(err) === 'EEXIST') return;
    if (errCode(err) !== 'ENOENT' || dirname(dir) === dir) throw err;
  }
  await makeDirs(dirname(dir));
  try {
    await mkdir(dir);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
  }
}
