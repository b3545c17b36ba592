/**
 * The text of a value whose shape no convention fixes (a tool result, a
 * chain's input, Langfuse's observation output): a JSON string's content, the
 * text-bearing fields of a JSON document, or the value itself.
 */
import { isRecord } from './span-view.js';

/** Fields whose string values are text a person or a model wrote. */
const TEXT_FIELDS = new Set([
  'content',
  'text',
  'prompt',
  'completion',
  'input',
  'output',
  'output_text',
  'result',
  'query',
  'question',
  'answer',
  'response',
  'message',
  'system',
  'arguments',
]);
const MAX_DEPTH = 32;
const MAX_PIECES = 10_000;

/** `raw` is the attribute as stored; `parsed` its JSON value, or undefined when it is not JSON. */
export function looseText(raw: string, parsed: unknown): string {
  if (parsed === undefined) return raw;
  if (typeof parsed === 'string') return parsed;
  const pieces: string[] = [];
  collect(parsed, false, 0, pieces);
  return pieces.length > 0 ? pieces.join('\n') : raw;
}

function collect(node: unknown, textField: boolean, depth: number, pieces: string[]): void {
  if (depth > MAX_DEPTH || pieces.length >= MAX_PIECES) return;
  if (typeof node === 'string') {
    if (textField && !node.startsWith('data:')) pieces.push(node);
    return;
  }
  if (Array.isArray(node)) {
    for (const item of node) collect(item, textField, depth + 1, pieces);
    return;
  }
  if (!isRecord(node) || node['type'] === 'blob' || node['type'] === 'Buffer') return;
  for (const key in node) collect(node[key], TEXT_FIELDS.has(key), depth + 1, pieces);
}

/** A value given as a string or as any JSON value, as text. */
export function stringifyPart(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** The pieces present, one a line; undefined when none is. */
export function joinPieces(pieces: readonly (string | undefined)[]): string | undefined {
  let joined: string | undefined;
  for (const piece of pieces) {
    if (piece !== undefined) joined = joined === undefined ? piece : `${joined}\n${piece}`;
  }
  return joined;
}
