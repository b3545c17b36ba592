/**
 * OpenTelemetry GenAI messages: `gen_ai.input.messages`, `gen_ai.output.messages`
 * and `gen_ai.system_instructions`, JSON arrays of `{role, parts[]}` (semantic
 * conventions 1.37+; emitted by OpenLLMetry 0.27, the AI SDK 7's @ai-sdk/otel,
 * and the Traceloop SDK's rewrite of AI SDK spans), and the execute_tool span's
 * `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result`.
 */
import {
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
} from '../genai-names.js';
import { joinPieces, looseText, stringifyPart } from '../loose-text.js';
import { isRecord, type SpanView } from '../span-view.js';

export const GENAI_IMAGE_ATTRIBUTES = {
  input: [ATTR_GEN_AI_INPUT_MESSAGES, ATTR_GEN_AI_SYSTEM_INSTRUCTIONS],
  output: [ATTR_GEN_AI_OUTPUT_MESSAGES],
} as const;

export function genAiInputText(view: SpanView): string | undefined {
  const system = view.json(ATTR_GEN_AI_SYSTEM_INSTRUCTIONS);
  const messages = view.json(ATTR_GEN_AI_INPUT_MESSAGES);
  if (system === undefined && messages === undefined) return undefined;
  return joinPieces([partsText(system, 'input'), messagesText(messages, 'input')]) ?? '';
}

export function genAiOutputText(view: SpanView): string | undefined {
  const messages = view.json(ATTR_GEN_AI_OUTPUT_MESSAGES);
  if (messages === undefined) return undefined;
  return messagesText(messages, 'output') ?? '';
}

export function genAiToolInputText(view: SpanView): string | undefined {
  return looseAttribute(view, ATTR_GEN_AI_TOOL_CALL_ARGUMENTS);
}

export function genAiToolOutputText(view: SpanView): string | undefined {
  return looseAttribute(view, ATTR_GEN_AI_TOOL_CALL_RESULT);
}

function looseAttribute(view: SpanView, key: string): string | undefined {
  const raw = view.string(key);
  return raw === undefined ? undefined : looseText(raw, view.json(key));
}

function messagesText(messages: unknown, side: 'input' | 'output'): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  const pieces: (string | undefined)[] = [];
  for (const message of messages) {
    if (!isRecord(message)) continue;
    if (typeof message['content'] === 'string') pieces.push(message['content']); // pre-parts drafts
    pieces.push(partsText(message['parts'], side));
  }
  return joinPieces(pieces);
}

/**
 * Input: text parts, the tool calls of earlier turns (their arguments) and the
 * tool results fed to the model, as the other conventions count a prompt.
 * Output: text parts and the tool-call arguments the model wrote. Reasoning,
 * blobs and URIs are not text.
 */
function partsText(parts: unknown, side: 'input' | 'output'): string | undefined {
  if (!Array.isArray(parts)) return undefined;
  const pieces: (string | undefined)[] = [];
  for (const part of parts) {
    if (!isRecord(part)) continue;
    switch (part['type']) {
      case 'text':
        pieces.push(stringifyPart(part['content']));
        break;
      case 'tool_call':
        pieces.push(stringifyPart(part['arguments']));
        break;
      case 'tool_call_response':
        if (side === 'input') pieces.push(stringifyPart(part['response'] ?? part['result']));
        break;
    }
  }
  return joinPieces(pieces);
}
