/**
 * Under NodeSDK, MetricEventsSpanProcessor read each span's resource attributes
 * at its start and end, while the detectors' asynchronous attributes were
 * still pending: OpenTelemetry logged "Accessing resource attributes before
 * async attributes settled" 67 times for 24 spans. A plain BatchSpanProcessor
 * reads them only at export, once settled.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagLogLevel, context, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { MetricEventsSpanProcessor } from '../../src/export/processor.js';
import { captureDiag } from '../support/diag-capture.js';
import { MemorySink } from '../support/memory-sink.js';

let spillDir: string;
beforeAll(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-resource-'));
});
afterAll(async () => {
  await rm(spillDir, { recursive: true, force: true });
});

describe('MetricEventsSpanProcessor under a real NodeSDK', () => {
  it('reads no resource attribute before they settle, and the rows still carry the resource', async () => {
    const diag = captureDiag(DiagLogLevel.ALL);
    const sink = new MemorySink();
    const processor = new MetricEventsSpanProcessor({
      exporter: MetricEventsSpanExporter.withSink(sink, { spillDir }),
    });
    const sdk = new NodeSDK({
      serviceName: 'resource-check',
      spanProcessors: [processor],
      metricReaders: [],
      logRecordProcessors: [],
      instrumentations: [],
    });
    sdk.start();
    try {
      const tracer = trace.getTracer('support-app');
      // 8 agent turns of 3 spans each (agent, chat, tool), as an AI SDK 7 application makes them.
      for (let turn = 0; turn < 8; turn++) {
        const agent = tracer.startSpan('invoke_agent', {
          attributes: { 'gen_ai.operation.name': 'invoke_agent', 'session.id': `chat-${turn}` },
        });
        const inAgent = trace.setSpan(context.active(), agent);
        tracer
          .startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } }, inAgent)
          .end();
        tracer
          .startSpan(
            'execute_tool get_weather',
            { attributes: { 'gen_ai.operation.name': 'execute_tool' } },
            inAgent,
          )
          .end();
        agent.end();
      }
      await sdk.shutdown();
    } finally {
      diag.stop();
    }
    const early = diag.logs.filter((log) => log.message.includes('before async attributes settled'));
    expect(early).toEqual([]);
    expect(sink.rows).toHaveLength(24);
    for (const row of sink.rows) {
      expect(row.custom_attributes?.service_name).toBe('resource-check');
      expect(row.session_id).toMatch(/^chat-\d$/);
    }
  });
});
