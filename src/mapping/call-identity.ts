// TEMPORARY stub: replaced by the identity branch.
import type { SpanView } from './span-view.js';
export interface CallModels {
  readonly request: string | undefined;
  readonly response: string | undefined;
}
export function callModels(view: SpanView): CallModels {
  return { request: view.string('gen_ai.request.model'), response: view.string('gen_ai.response.model') };
}
export function modelColumn(models: CallModels): string | undefined {
  return models.request ?? models.response;
}
export function providerName(view: SpanView): string | undefined {
  return view.string('gen_ai.system')?.toLowerCase();
}
