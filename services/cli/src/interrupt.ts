/**
 * What happens when the user stops a command (Ctrl-C, `kill`, `timeout`): every process the command
 * started is stopped in order (the CLI's own Redis connections first, then the workers, then the
 * private redis-server), one line says so, and the exit code is the usual 128 + signal number.
 *
 * Commands register what must be stopped with `onInterrupt`; the handlers are installed once, by
 * main.ts. A second signal skips the orderly stop. Workers and the private redis-server run in their
 * own process groups, so a terminal's Ctrl-C reaches only this process, which then stops them in order
 * (a Ctrl-C that reached them all at once killed Redis under the workers: a burst of ECONNREFUSED).
 */
export type Cleanup = () => Promise<void> | void;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type StopSignal = keyof typeof SIGNALS;

/** Past this, the orderly stop is abandoned and the process exits anyway (workers get SIGKILL from their own deadline). */
export const INTERRUPT_DEADLINE_MS = 9000;

const cleanups = new Set<Cleanup>();
const hardStops = new Set<() => void>();
let interrupted: StopSignal | undefined;
let note = 'finished work is kept; run the same command again to resume';
/** Servers (coordinator, worker, dev s3) end by a signal as their normal way: 0 after an orderly stop. */
let serverStop = false;

/** Runs `fn` if the command is interrupted; returns a function that unregisters it. */
export function onInterrupt(fn: Cleanup, hardStop?: () => void): () => void {
  cleanups.add(fn);
  if (hardStop) hardStops.add(hardStop);
  return () => {
    cleanups.delete(fn);
    if (hardStop) hardStops.delete(hardStop);
  };
}

/**
 * For long-running servers, where a signal is the normal way to stop and "resume" means nothing: the
 * rest of the line, and exit code 0 after an orderly stop (128 + signal if it had to be cut short).
 */
export function setServerStop(text: string): void {
  note = text;
  serverStop = true;
}

/** The signal that interrupted this command, if one did: errors after it are consequences, not news. */
export function interruptedBy(): StopSignal | undefined {
  return interrupted;
}

export function exitCodeFor(signal: StopSignal): number {
  return 128 + SIGNALS[signal];
}

export function installInterruptHandlers(stream: NodeJS.WritableStream = process.stderr): void {
  for (const signal of Object.keys(SIGNALS) as StopSignal[]) {
    process.on(signal, () => void handle(signal, stream));
  }
}

async function handle(signal: StopSignal, stream: NodeJS.WritableStream): Promise<void> {
  const code = exitCodeFor(signal);
  if (interrupted) {
    // A second Ctrl-C: the user does not want to wait for the orderly stop.
    for (const kill of hardStops) kill();
    process.exit(code);
  }
  interrupted = signal;
  // Started before the line is written, so that progress bars are already off the terminal.
  const pending = [...cleanups].map((fn) => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  });
  stream.write(`rag: interrupted by ${signal}; stopping what this command started (${note})\n`);
  const deadline = setTimeout(() => {
    for (const kill of hardStops) kill();
    process.exit(code);
  }, INTERRUPT_DEADLINE_MS);
  await Promise.allSettled(pending);
  clearTimeout(deadline);
  process.exit(serverStop ? 0 : code);
}
