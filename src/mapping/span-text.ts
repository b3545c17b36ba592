/**
 * The input and output text of a span: the first convention that holds each
 * side wins, structured message forms before loose values.
 */
import {
  AI_SDK_INPUT_KEYS,
  AI_SDK_OUTPUT_KEYS,
  aiSdkInputText,
  aiSdkOutputText,
} from './conventions/ai-sdk.js';
import {
  genAiInputText,
  genAiOutputText,
  genAiToolInputText,
  genAiToolOutputText,
} from './conventions/genai.js';
import {
  LANGFUSE_OBSERVATION_INPUT,
  LANGFUSE_OBSERVATION_OUTPUT,
  langfuseInputText,
  langfuseOutputText,
} from './conventions/langfuse.js';
import {
  INPUT_MIME_TYPE,
  INPUT_VALUE,
  OUTPUT_MIME_TYPE,
  OUTPUT_VALUE,
  inputValueText,
  openInferenceEmbeddingText,
  openInferenceInputText,
  openInferenceOutputText,
  outputValueText,
} from './conventions/openinference.js';
import {
  TRACELOOP_ENTITY_INPUT,
  TRACELOOP_ENTITY_OUTPUT,
  entityInputText,
  entityOutputText,
  indexedCompletionText,
  indexedPromptText,
} from './conventions/openllmetry.js';
import {
  ATTR_GEN_AI_COMPLETION,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROMPT,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
} from './genai-names.js';
import { KeyGroup, keyGroupsOf } from './key-index.js';
import type { SpanView } from './span-view.js';

interface TextSource {
  /** The key groups of the keys the source reads: it is skipped when the span has none of them. */
  readonly reads: number;
  readonly text: (view: SpanView) => string | undefined;
}

/** The listed OpenInference messages and embedding texts are in these groups (see indexKeys). */
const OPENINFERENCE_MESSAGES = KeyGroup.llm;
const OPENINFERENCE_EMBEDDINGS = KeyGroup.openInference;

const INPUT_SOURCES: readonly TextSource[] = [
  { reads: keyGroupsOf(ATTR_GEN_AI_SYSTEM_INSTRUCTIONS, ATTR_GEN_AI_INPUT_MESSAGES), text: genAiInputText },
  { reads: keyGroupsOf(`${ATTR_GEN_AI_PROMPT}.0`), text: indexedPromptText },
  { reads: OPENINFERENCE_MESSAGES, text: openInferenceInputText },
  { reads: keyGroupsOf(...AI_SDK_INPUT_KEYS), text: aiSdkInputText },
  { reads: OPENINFERENCE_EMBEDDINGS, text: openInferenceEmbeddingText },
  { reads: keyGroupsOf(ATTR_GEN_AI_TOOL_CALL_ARGUMENTS), text: genAiToolInputText },
  { reads: keyGroupsOf(INPUT_VALUE, INPUT_MIME_TYPE), text: inputValueText },
  { reads: keyGroupsOf(LANGFUSE_OBSERVATION_INPUT), text: langfuseInputText },
  { reads: keyGroupsOf(TRACELOOP_ENTITY_INPUT), text: entityInputText },
];

const OUTPUT_SOURCES: readonly TextSource[] = [
  { reads: keyGroupsOf(ATTR_GEN_AI_OUTPUT_MESSAGES), text: genAiOutputText },
  { reads: keyGroupsOf(`${ATTR_GEN_AI_COMPLETION}.0`), text: indexedCompletionText },
  { reads: OPENINFERENCE_MESSAGES, text: openInferenceOutputText },
  { reads: keyGroupsOf(...AI_SDK_OUTPUT_KEYS), text: aiSdkOutputText },
  { reads: keyGroupsOf(ATTR_GEN_AI_TOOL_CALL_RESULT), text: genAiToolOutputText },
  { reads: keyGroupsOf(OUTPUT_VALUE, OUTPUT_MIME_TYPE), text: outputValueText },
  { reads: keyGroupsOf(LANGFUSE_OBSERVATION_OUTPUT), text: langfuseOutputText },
  { reads: keyGroupsOf(TRACELOOP_ENTITY_OUTPUT), text: entityOutputText },
];

export function inputText(view: SpanView): string | undefined {
  return firstText(view, INPUT_SOURCES);
}

export function outputText(view: SpanView): string | undefined {
  return firstText(view, OUTPUT_SOURCES);
}

function firstText(view: SpanView, sources: readonly TextSource[]): string | undefined {
  for (const source of sources) {
    if (!view.has(source.reads)) continue;
    const text = source.text(view);
    if (text !== undefined) return text;
  }
  return undefined;
}
