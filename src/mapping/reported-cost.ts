/**
 * The provider's own charge for a call, where a span carries it: it wins over
 * any price computed from tokens (a gateway's discounts, its fees, a model no
 * table lists). Where instrumentations put it:
 * - `gen_ai.usage.cost`: OpenLIT's instrumentations (its semantic conventions,
 *   `GEN_AI_USAGE_COST`), and what Langfuse reads from OpenTelemetry spans;
 *   not (yet) a GenAI semantic convention.
 * - OpenInference's `llm.cost.total`, with `llm.cost.completion` and
 *   `llm.cost.prompt_details.{input,cache_read,cache_write}`
 *   (@arizeai/openinference-semantic-conventions 2.12.0, SemanticConventions.ts).
 * - Langfuse's `langfuse.observation.cost_details` (JSON: `total`, `input`,
 *   `output`), as its SDKs and exporters set it.
 * - The AI SDK's `ai.response.providerMetadata` (JSON) with OpenRouter's
 *   provider (@openrouter/ai-sdk-provider: `providerMetadata.openrouter.usage.cost`,
 *   the charge OpenRouter returns with its usage accounting).
 * A value counts when it is a finite number of dollars, 0 or more (a number,
 * or a string of one); anything else is no reported charge.
 */
import type { ReportedCost } from '../pricing/price-call.js';
import { AI_SDK_PROVIDER_METADATA } from './conventions/ai-sdk.js';
import { keyGroupOf } from './key-index.js';
import { isRecord, type SpanView } from './span-view.js';

export const GEN_AI_USAGE_COST = 'gen_ai.usage.cost';
export const LLM_COST_TOTAL = 'llm.cost.total';
const LLM_COST_COMPLETION = 'llm.cost.completion';
const LLM_COST_INPUT = 'llm.cost.prompt_details.input';
const LLM_COST_CACHE_READ = 'llm.cost.prompt_details.cache_read';
const LLM_COST_CACHE_WRITE = 'llm.cost.prompt_details.cache_write';
export const LANGFUSE_COST_DETAILS = 'langfuse.observation.cost_details';

/** The cost attributes have a key group of their own (KeyGroup.cost): most spans have none of them. */
const COST_GROUP =
  keyGroupOf(GEN_AI_USAGE_COST) | keyGroupOf(LLM_COST_TOTAL) | keyGroupOf(LANGFUSE_COST_DETAILS);
const AI_SDK_RESPONSE_GROUP = keyGroupOf(AI_SDK_PROVIDER_METADATA);

/** The charge the span reports, first source present wins; undefined when it reports none. */
export function reportedCost(view: SpanView): ReportedCost | undefined {
  if (view.has(COST_GROUP)) {
    const reported = costAttributes(view);
    if (reported !== undefined) return reported;
  }
  return view.has(AI_SDK_RESPONSE_GROUP) ? openRouterCost(view) : undefined;
}

function costAttributes(view: SpanView): ReportedCost | undefined {
  const genAi = dollars(view.get(GEN_AI_USAGE_COST));
  if (genAi !== undefined) return { total: genAi, attribute: GEN_AI_USAGE_COST };
  return openInferenceCost(view) ?? langfuseCost(view);
}

function openInferenceCost(view: SpanView): ReportedCost | undefined {
  const total = dollars(view.get(LLM_COST_TOTAL));
  if (total === undefined) return undefined;
  return {
    total,
    attribute: LLM_COST_TOTAL,
    input: dollars(view.get(LLM_COST_INPUT)),
    cacheRead: dollars(view.get(LLM_COST_CACHE_READ)),
    cacheWrite: dollars(view.get(LLM_COST_CACHE_WRITE)),
    output: dollars(view.get(LLM_COST_COMPLETION)),
  };
}

function langfuseCost(view: SpanView): ReportedCost | undefined {
  const details = view.json(LANGFUSE_COST_DETAILS);
  if (!isRecord(details)) return undefined;
  const total = dollars(details['total']);
  if (total === undefined) return undefined;
  return {
    total,
    attribute: LANGFUSE_COST_DETAILS,
    input: dollars(details['input']),
    output: dollars(details['output']),
  };
}

function openRouterCost(view: SpanView): ReportedCost | undefined {
  const raw = view.get(AI_SDK_PROVIDER_METADATA);
  // Most provider metadata holds no charge: only parse the one that may.
  if (typeof raw !== 'string' || !raw.includes('"openrouter"')) return undefined;
  const metadata = view.json(AI_SDK_PROVIDER_METADATA);
  const openRouter = isRecord(metadata) ? metadata['openrouter'] : undefined;
  const usage = isRecord(openRouter) ? openRouter['usage'] : undefined;
  const total = isRecord(usage) ? dollars(usage['cost']) : undefined;
  return total === undefined
    ? undefined
    : { total, attribute: `${AI_SDK_PROVIDER_METADATA}.openrouter.usage.cost` };
}

const NUMBER_TEXT = /^\s*\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$/;

function dollars(value: unknown): number | undefined {
  const amount = typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : value;
  return typeof amount === 'number' && Number.isFinite(amount) && amount >= 0 ? amount + 0 : undefined;
}
