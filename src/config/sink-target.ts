/** The URL's scheme picks the sink. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SinkKind } from '../sinks/sink.js';

export type SinkTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'mysql'; readonly url: string }
  | { readonly kind: 'parquet'; readonly directory: string };

const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/** Which sink a URL means; throws an Error naming the scheme when it is none of ours. */
export function sinkTargetOf(url: string): SinkTarget {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return { kind: 'parquet', directory: resolve(url) };
    case 'file':
      return { kind: 'parquet', directory: fileURLToPath(url) };
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', url };
    case 'mysql':
      return { kind: 'mysql', url };
    case 'mariadb':
      return { kind: 'mysql', url: `mysql:${url.slice('mariadb:'.length)}` };
    default:
      throw new Error(`unknown scheme '${scheme}:'`);
  }
}

export function sinkKindOf(url: string): SinkKind {
  return sinkTargetOf(url).kind;
}
