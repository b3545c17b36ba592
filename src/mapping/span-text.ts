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
import { KeyGroup } from './key-index.js';
import type { SpanView } from './span-view.js';

interface TextSource {
  /** The key groups the source reads: it is skipped when the span has none of them. */
  readonly reads: number;
  readonly text: (view: SpanView) => string | undefined;
}

const INPUT_SOURCES: readonly TextSource[] = [
  { reads: KeyGroup.genAi, text: genAiInputText },
  { reads: KeyGroup.genAi, text: indexedPromptText },
  { reads: KeyGroup.llm, text: openInferenceInputText },
  { reads: KeyGroup.aiSdk, text: aiSdkInputText },
  { reads: KeyGroup.openInference, text: openInferenceEmbeddingText },
  { reads: KeyGroup.genAi, text: genAiToolInputText },
  { reads: KeyGroup.openInference, text: inputValueText },
  { reads: KeyGroup.langfuse, text: langfuseInputText },
  { reads: KeyGroup.traceloop, text: entityInputText },
];

const OUTPUT_SOURCES: readonly TextSource[] = [
  { reads: KeyGroup.genAi, text: genAiOutputText },
  { reads: KeyGroup.genAi, text: indexedCompletionText },
  { reads: KeyGroup.llm, text: openInferenceOutputText },
  { reads: KeyGroup.aiSdk, text: aiSdkOutputText },
  { reads: KeyGroup.genAi, text: genAiToolOutputText },
  { reads: KeyGroup.openInference, text: outputValueText },
  { reads: KeyGroup.langfuse, text: langfuseOutputText },
  { reads: KeyGroup.traceloop, text: entityOutputText },
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
