/** Runs node as a user would, in this repository (so `llamonitor-otel` resolves to the built package). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly finished: Promise<Finished>;
}

/** Starts `node args...` with the given environment added to this one's (LLAMONITOR_* of the test process removed). */
export function startNode(args: readonly string[], env: Record<string, string> = {}, cwd = REPO): Running {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLAMONITOR_')));
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stdout: () => stdout, finished };
}

export function runNode(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMillis = 60_000,
  cwd = REPO,
): Promise<Finished> {
  const running = startNode(args, env, cwd);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMillis);
  return running.finished.finally(() => clearTimeout(timer));
}

/** The CLI, as installed: `llamonitor ...`. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
  return runNode(['dist/cli/main.js', ...args], env);
}
