/**
 * The input and output text of a span: the first convention that holds each
 * side wins, structured message forms before loose values.
 */
import { aiSdkInputText, aiSdkOutputText } from './conventions/ai-sdk.js';
import {
  genAiInputText,
  genAiOutputText,
  genAiToolInputText,
  genAiToolOutputText,
} from './conventions/genai.js';
import { langfuseInputText, langfuseOutputText } from './conventions/langfuse.js';
import {
  inputValueText,
  openInferenceEmbeddingText,
  openInferenceInputText,
  openInferenceOutputText,
  outputValueText,
} from './conventions/openinference.js';
import {
  entityInputText,
  entityOutputText,
  indexedCompletionText,
  indexedPromptText,
} from './conventions/openllmetry.js';
import type { SpanView } from './span-view.js';

type TextSource = (view: SpanView) => string | undefined;

const INPUT_SOURCES: readonly TextSource[] = [
  genAiInputText,
  indexedPromptText,
  openInferenceInputText,
  aiSdkInputText,
  openInferenceEmbeddingText,
  genAiToolInputText,
  inputValueText,
  langfuseInputText,
  entityInputText,
];

const OUTPUT_SOURCES: readonly TextSource[] = [
  genAiOutputText,
  indexedCompletionText,
  openInferenceOutputText,
  aiSdkOutputText,
  genAiToolOutputText,
  outputValueText,
  langfuseOutputText,
  entityOutputText,
];

export function inputText(view: SpanView): string | undefined {
  return firstText(view, INPUT_SOURCES);
}

export function outputText(view: SpanView): string | undefined {
  return firstText(view, OUTPUT_SOURCES);
}

function firstText(view: SpanView, sources: readonly TextSource[]): string | undefined {
  for (const source of sources) {
    const text = source(view);
    if (text !== undefined) return text;
  }
  return undefined;
}
