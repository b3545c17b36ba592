/**
 * A real headless Chromium for the dashboard's tests: Debian's `chromium`
 * package (installed here when missing and the process may install; .ci/run
 * installs it too), driven by playwright-core. Without it the tests skip with
 * a message saying how to enable them; with CI=true they fail.
 */
import { spawnSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

const inCi = process.env.CI === 'true' || process.env.CI === '1';

function chromiumPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The path of the chromium binary, after installing it if it was missing and we are root; undefined to skip. */
export function chromiumAvailable(): string | undefined {
  let path = chromiumPath();
  if (path === undefined && process.getuid?.() === 0) {
    spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'ignore', timeout: 600_000 });
    path = chromiumPath();
  }
  if (path !== undefined) return path;
  const message =
    'chromium is not installed (Debian: apt-get install -y chromium); install it to run these tests';
  if (inCi) throw new Error(`CI=true and ${message}`);
  console.warn(`skipping browser tests: ${message}`);
  return undefined;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}
