/**
 * AI SDK 7, resolved from this folder: the repository root's `ai` is AI SDK 6.
 * Captures and tests import AI SDK 7 through this file only.
 */
export {
  embed,
  embedMany,
  generateText,
  registerTelemetry,
  stepCountIs,
  streamText,
  tool,
  type Telemetry,
  type TelemetryOptions,
} from 'ai';
export { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';
export { createOpenAI } from '@ai-sdk/openai';
