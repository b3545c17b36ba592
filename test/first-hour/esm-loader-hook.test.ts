/**
 * When the register entry leaves the ES module loader hook alone: each case
 * returns before Node's module.register is called, so it runs in this process.
 * That it does register, and what that gives, is esm-instrumentations.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerEsmLoaderHook } from '../../src/export/esm-loader-hook.js';
import { REPO } from '../support/child-process.js';
import { makeAppFolder, type AppFolder } from './app-folder.js';

let app: AppFolder | undefined;
afterEach(() => app?.remove());

describe('the register entry’s ES module loader hook', () => {
  it.each([
    ['--experimental-loader=@opentelemetry/instrumentation/hook.mjs'],
    ['--import=import-in-the-middle/hook.mjs'],
  ])('is left to the application when Node was started with %s', (option) => {
    expect(
      registerEsmLoaderHook({ searchFrom: [REPO], nodeOptions: ['--enable-source-maps', option] }),
    ).toEqual({
      registered: false,
      reason: 'the application registers a loader hook of its own',
    });
  });

  it('is not registered when no @opentelemetry/instrumentation is installed (the AI SDKs need none)', () => {
    const empty = mkdtempSync(join(tmpdir(), 'llamonitor-no-instrumentation-'));
    try {
      expect(registerEsmLoaderHook({ searchFrom: [empty], nodeOptions: [] })).toEqual({
        registered: false,
        reason: '@opentelemetry/instrumentation is not installed',
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('is not registered from an import-in-the-middle too old to wrap only the modules asked for', () => {
    // OpenInference 4.2's own @opentelemetry/instrumentation 0.46, with import-in-the-middle 1.7, at the top.
    const nested = join(
      REPO,
      'node_modules',
      '@arizeai',
      'openinference-instrumentation-openai',
      'node_modules',
    );
    app = makeAppFolder({
      replace: { '@opentelemetry/instrumentation': join(nested, '@opentelemetry', 'instrumentation') },
    });
    const result = registerEsmLoaderHook({ searchFrom: [app.path], nodeOptions: [] });
    expect(result.registered).toBe(false);
    expect(result).toMatchObject({
      reason: expect.stringMatching(/^the import-in-the-middle beside .* is too old$/),
    });
  });
});
