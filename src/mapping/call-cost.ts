/**
 * The cost part of the mapping: a span's reported charge, else its tokens
 * priced by the price table at the price in force when the span started.
 * A span that names no model and reports no usage (a tool call, a retrieval)
 * gets no cost keys: it is no model call.
 */
import { priceCall, reportedCallCost, type CallCost } from '../pricing/price-call.js';
import type { PriceTable } from '../pricing/price-table.js';
import type { CallModels } from './call-identity.js';
import { reportedCost } from './reported-cost.js';
import type { SpanView } from './span-view.js';
import type { TokenColumns } from './tokens.js';

export interface CostInputs {
  readonly view: SpanView;
  readonly models: CallModels;
  readonly provider: string | undefined;
  /** The span's usage the GenAI way; for a wrapper span, the usage it repeats of its children. */
  readonly tokens: TokenColumns;
  /** The span repeats its children's usage: its charge is theirs, so only computed, never taken as reported. */
  readonly aggregate: boolean;
  /** When the call was made: the row's timestamp (the span's start, else its end, else now). */
  readonly atMillis: number;
  readonly table: PriceTable;
}

export function costOfCall(inputs: CostInputs): CallCost | undefined {
  const { view, models, tokens, aggregate } = inputs;
  // A wrapper's reported charge is its last step's (the AI SDK's outer span): its children carry theirs.
  const reported = aggregate ? undefined : reportedCost(view);
  if (reported !== undefined) return reportedCallCost(reported);
  if (models.request === undefined && models.response === undefined && tokens.input_tokens === null) {
    return undefined;
  }
  return priceCall(inputs.table, {
    requestModel: models.request,
    responseModel: models.response,
    provider: inputs.provider,
    atMillis: inputs.atMillis,
    tokens,
  });
}
