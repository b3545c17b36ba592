/**
 * The ESM loader hook of the register entry. An instrumentation patches a
 * module when it is loaded: for `require` it hooks `Module.prototype.require`,
 * but an ES module application's `import OpenAI from 'openai'` passes no such
 * hook, and the module stays unpatched (zero rows, no error). OpenTelemetry's
 * `@opentelemetry/instrumentation` covers `import` through
 * `import-in-the-middle`, whose loader hook must be registered with Node before
 * the application's modules load: this registers it.
 *
 * Only the copy of `import-in-the-middle` that the application's
 * `@opentelemetry/instrumentation` uses can serve it (each copy keeps its own
 * list of hooks), and only the modules of LLM clients are wrapped, plus those
 * an instrumentation asks for over the hook's message port: wrapping every
 * module is what breaks some applications. Imports nothing of OpenTelemetry,
 * so that the register entry can load it before checking what is installed.
 */
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The LLM clients' modules wrapped from the start, so that one imported before its instrumentation is made can still be patched. */
export const LLM_CLIENT_MODULES: readonly string[] = [
  'openai',
  '@anthropic-ai/sdk',
  '@aws-sdk/client-bedrock-runtime',
  '@google-cloud/vertexai',
  '@google/genai',
  '@google/generative-ai',
  '@mistralai/mistralai',
  'cohere-ai',
  'groq-sdk',
  'together-ai',
  'ollama',
  'langchain',
  '@langchain/core',
  'llamaindex',
];

/** What registerEsmLoaderHook did, and why. */
export type EsmLoaderHook =
  | { readonly registered: true; readonly hook: string }
  | { readonly registered: false; readonly reason: string };

export interface EsmLoaderHookContext {
  /** Folders the application's packages resolve from: its main module's, then the working directory. */
  readonly searchFrom: readonly string[];
  /** Node's own options for this process (`process.execArgv` and NODE_OPTIONS). */
  readonly nodeOptions: readonly string[];
}

/** Where this process's application resolves its packages from, and how Node was started. */
export function currentProcessContext(): EsmLoaderHookContext {
  const main = process.argv[1];
  return {
    searchFrom: [...(main ? [dirname(main)] : []), process.cwd()],
    nodeOptions: [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)],
  };
}

/** Options of the import-in-the-middle hook, as its `initialize(data)` takes them. */
interface IitmRegisterOptions {
  data: { include?: string[]; addHookMessagePort?: unknown };
  transferList?: unknown[];
}

interface ImportInTheMiddle {
  createAddHookMessageChannel?: () => { registerOptions: IitmRegisterOptions };
}

/**
 * Registers the loader hook of the `import-in-the-middle` that the
 * application's `@opentelemetry/instrumentation` uses. Does nothing when the
 * application has no `@opentelemetry/instrumentation` (nothing could use the
 * hook), when Node was started with a loader of its own (two would wrap modules
 * twice), or when that copy is too old to wrap only the modules asked for.
 */
export function registerEsmLoaderHook(
  context: EsmLoaderHookContext = currentProcessContext(),
): EsmLoaderHook {
  if (context.nodeOptions.some((option) => /import-in-the-middle|instrumentation\/hook\.mjs/.test(option))) {
    return { registered: false, reason: 'the application registers a loader hook of its own' };
  }
  const instrumentation = resolveFrom(context.searchFrom, '@opentelemetry/instrumentation');
  if (instrumentation === undefined) {
    return { registered: false, reason: '@opentelemetry/instrumentation is not installed' };
  }
  const fromInstrumentation = createRequire(instrumentation);
  let iitm: ImportInTheMiddle;
  let hook: string;
  try {
    iitm = fromInstrumentation('import-in-the-middle') as ImportInTheMiddle;
    hook = fromInstrumentation.resolve('import-in-the-middle/hook.mjs');
  } catch (error) {
    return {
      registered: false,
      reason: `import-in-the-middle could not be loaded: ${(error as Error).message}`,
    };
  }
  // Before 1.11 it has no message port to learn the modules an instrumentation hooks.
  if (typeof iitm.createAddHookMessageChannel !== 'function') {
    return { registered: false, reason: `the import-in-the-middle beside ${instrumentation} is too old` };
  }
  const { registerOptions } = iitm.createAddHookMessageChannel();
  registerOptions.data.include = [...LLM_CLIENT_MODULES];
  register(pathToFileURL(hook).href, registerOptions as Parameters<typeof register>[1]);
  return { registered: true, hook };
}

function resolveFrom(folders: readonly string[], specifier: string): string | undefined {
  for (const folder of folders) {
    try {
      // A file name in the folder: createRequire resolves from the folder that holds it.
      return createRequire(join(folder, 'noop.js')).resolve(specifier);
    } catch {
      // not installed for this folder: try the next
    }
  }
  return undefined;
}
