/**
 * Starts test/support/parquet-child.ts (a separate process using the built
 * ParquetSink) and waits for what it prints, each wait bounded and failing
 * with a message that says what did not happen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./parquet-child.ts', import.meta.url));

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningChild {
  readonly child: ChildProcess;
  /** Settles when the child has exited (the test's own timeout bounds it). */
  readonly exited: Promise<ChildRun>;
  output(): string;
  /** Resolves once the child printed `text`; fails if it exits first or `timeoutMillis` pass. */
  printed(text: string, timeoutMillis?: number): Promise<void>;
}

export interface ChildOptions {
  /** RLIMIT_FSIZE for the child (prlimit), in bytes. */
  readonly fileSizeLimit?: number;
  readonly stdin?: 'ignore' | 'pipe';
  /** A command that runs node, such as `unshare -p -f --mount-proc`. */
  readonly wrapper?: readonly string[];
  /** Added to the environment. */
  readonly env?: Record<string, string>;
}

export function runParquetChild(args: readonly string[], options: ChildOptions = {}): RunningChild {
  let command = [process.execPath, '--import', 'tsx', CHILD, ...args];
  if (options.fileSizeLimit) command = ['prlimit', `--fsize=${options.fileSizeLimit}`, ...command];
  if (options.wrapper) command = [...options.wrapper, ...command];
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal, stdout, stderr }) as ChildRun);
  const printed = (text: string, timeoutMillis = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!stdout.includes(text)) return;
        stop();
        resolve();
      };
      const ended = () => {
        stop();
        reject(new Error(`the child ended without printing "${text}": ${stdout}${stderr}`));
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`the child did not print "${text}" within ${timeoutMillis} ms: ${stdout}${stderr}`));
      }, timeoutMillis);
      const stop = () => {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.off('exit', ended);
      };
      child.stdout?.on('data', check);
      child.once('exit', ended);
      check();
      if (child.exitCode !== null || child.signalCode !== null) ended();
    });
  return { child, exited, output: () => stdout, printed };
}

/** Polls `check` every 25 ms until it holds; fails after `timeoutMillis`, naming `what` did not happen. */
export async function until(what: string, check: () => boolean, timeoutMillis = 20_000): Promise<void> {
  const end = Date.now() + timeoutMillis;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMillis} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
