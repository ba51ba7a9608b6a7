import { readdirSync, readFileSync } from 'node:fs';

/** Parent pid and state of a live process from /proc, or null once it is gone (zombies count as gone: they run nothing). */
function statOf(pid: number): { ppid: number; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return null;
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  return statOf(pid) !== null;
}

/** Every live descendant of `root` (children, grandchildren, …), from /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(Number(name));
    if (!s) continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Waits until none of `pids` is alive; returns the ones still alive after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (!alive.length || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The command line of a process, for failure messages. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}

/** Signals `root`'s process group and every descendant (some start groups of their own). */
export function killTree(root: number, signal: NodeJS.Signals): void {
  const pids = [root, ...descendants(root)];
  try {
    process.kill(-root, signal);
  } catch {
    /* not a group leader, or gone */
  }
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}
