/** The bundled data of @pydantic/genai-prices, read through its own API, for tests that compare or replace it. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { findProvider, type Provider } from '@pydantic/genai-prices';

/** Every provider of the bundled table, in the data's order. */
export function bundledProviders(): Provider[] {
  const entry = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
  // Every `id:"…"` of the data: provider ids among them (model ids find no provider of their id).
  const ids = new Set([...readFileSync(entry, 'utf8').matchAll(/\bid:"([^"]+)"/g)].map((m) => m[1]!));
  return [...ids]
    .map((id) => findProvider({ providerId: id }))
    .filter((p): p is Provider => p !== undefined && ids.has(p.id))
    .filter((p, i, all) => all.findIndex((q) => q.id === p.id) === i);
}
