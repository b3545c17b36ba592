/**
 * The live test every proven instrumentation shares on why a call stopped: a
 * call cut by its token limit (the fake server's `chat-length`) and one that
 * ended in tool calls are told apart in each sink's rows.
 */
import { describe, expect, it } from 'vitest';
import { LENGTH_CUT_TOKENS } from '../support/capture/openai-scenarios.js';
import { SINKS, type ConformanceCapture, type SinkName } from './stored-rows.js';

/** `toolCallReason`: how the instrumentation spells a stop for tool calls (`tool_call`, `tool_calls`, `tool-calls`). */
export function describeWhyCallsStop(
  title: string,
  pipeline: ConformanceCapture,
  toolCallReason: string,
): void {
  describe.each(SINKS)(`${title} → %s: why a call stopped`, (sink: SinkName) => {
    const modelCall = async (scenario: string) =>
      (await pipeline.run(scenario)).rows[sink].filter((row) => row.operation_type === 'llm_call')[0]!;

    it('tells a call cut by its token limit from one that ended in tool calls', async () => {
      const [cut, toolCall] = [await modelCall('chat-length'), await modelCall('tool-call')];
      expect([cut.finish_reason, toolCall.finish_reason]).toEqual(['length', toolCallReason]);
      expect(cut.custom_attributes).toMatchObject({ request: { max_tokens: LENGTH_CUT_TOKENS } });
    });
  });
}
