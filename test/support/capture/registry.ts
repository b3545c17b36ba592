/**
 * Every capture target, loaded lazily: each patches modules when it starts, so
 * a process (a test file, a `run-one` child) loads only the one it runs.
 */
import type { CaptureTarget } from './target.js';

export const CAPTURE_TARGETS: Readonly<Record<string, () => Promise<CaptureTarget>>> = {
  'openllmetry-openai': async () => (await import('./targets/openllmetry-openai.js')).openllmetryOpenAI,
  'openinference-openai': async () => (await import('./targets/openinference-openai.js')).openinferenceOpenAI,
  'contrib-openai': async () => (await import('./targets/contrib-openai.js')).contribOpenAI,
  ai6: async () => (await import('./targets/ai6.js')).ai6,
  ai7: async () => (await import('./targets/ai7.js')).ai7,
  'ai7-legacy': async () => (await import('./targets/ai7.js')).ai7Legacy,
};
