/** A child application with a bound: killed past it (and the test told so), never waited on without end. */
import { startNode, type Running } from '../support/child-process.js';

/** Longer than any of these applications needs, even on a loaded machine. */
export const BOUND_MILLIS = 45_000;

export interface BoundedApp extends Running {
  /** True once the bound passed and the process was killed. */
  readonly killedByBound: () => boolean;
}

export function startBoundedApp(
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): BoundedApp {
  const app = startNode(args, env, cwd);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    app.child.kill('SIGKILL');
  }, BOUND_MILLIS);
  void app.finished.then(() => clearTimeout(timer));
  return { ...app, killedByBound: () => killed };
}

/** Waits until the child's output holds `text`; fails with what it printed when it ends first. */
export async function waitForOutput(app: BoundedApp, text: string): Promise<void> {
  let ended = false;
  void app.finished.then(() => (ended = true));
  while (!app.stdout().includes(text)) {
    if (ended) throw new Error(`the process ended without printing '${text}': ${app.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
