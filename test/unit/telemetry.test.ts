// The hand-written Prometheus exposition, what the pipeline metrics make of activity attempts and training
// progress, and how tracing and the worker's metrics port are configured.
import { describe, expect, it } from 'vitest';
import { pipelineMetrics, trainingMeter } from '../../core/metrics/pipeline.ts';
import { Counter, Gauge, Histogram, renderMetrics } from '../../core/metrics/registry.ts';
import { loadConfig } from '../../infra/config.ts';

const lines = (text: string, prefix: string) => text.split('\n').filter((line) => line.startsWith(prefix));

describe('metrics exposition', () => {
  it('renders counters, gauges and cumulative histogram buckets with escaped labels', () => {
    const counter = new Counter('c_total', 'A counter.');
    counter.inc({ route: 'a"b\\c' });
    counter.inc({ route: 'a"b\\c' }, 2);
    const gauge = new Gauge('g', 'A gauge.');
    gauge.set({}, 1.5);
    gauge.set({}, 0.5);
    const histogram = new Histogram('h_seconds', 'A histogram.', [1, 10]);
    for (const value of [0.5, 5, 50]) histogram.observe({ stage: 'train' }, value);
    expect(renderMetrics([counter, gauge, histogram]).split('\n')).toEqual([
      '# HELP c_total A counter.',
      '# TYPE c_total counter',
      'c_total{route="a\\"b\\\\c"} 3',
      '# HELP g A gauge.',
      '# TYPE g gauge',
      'g 0.5',
      '# HELP h_seconds A histogram.',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{stage="train",le="1"} 1',
      'h_seconds_bucket{stage="train",le="10"} 2',
      'h_seconds_bucket{stage="train",le="+Inf"} 3',
      'h_seconds_sum{stage="train"} 55.5',
      'h_seconds_count{stage="train"} 3',
      '',
    ]);
    expect(renderMetrics([])).toBe('');
  });
});

describe('pipeline metrics', () => {
  const render = () => renderMetrics(pipelineMetrics.metrics);

  it('times stages under one name whatever the activity type, and counts webhook outcomes and ledger appends', () => {
    pipelineMetrics.activity('distil', 2, 'completed');
    pipelineMetrics.activity('distill', 3, 'failed');
    pipelineMetrics.activity('deliverWebhook', 0.1, 'failed');
    pipelineMetrics.activity('notifyWebhook', 0.1, 'completed');
    pipelineMetrics.activity('deliverWebhook', 0.1, 'cancelled');
    pipelineMetrics.activity('appendLedgerEntry', 0.02, 'completed');
    pipelineMetrics.activity('appendLedgerEntry', 0.02, 'failed');
    pipelineMetrics.activity('readLedgerHead', 0.02, 'completed');
    const text = render();
    expect(lines(text, 'ratchet_stage_duration_seconds_count')).toEqual([
      'ratchet_stage_duration_seconds_count{stage="distill",outcome="completed"} 1',
      'ratchet_stage_duration_seconds_count{stage="distill",outcome="failed"} 1',
    ]);
    expect(lines(text, 'ratchet_webhook_deliveries_total{')).toEqual([
      'ratchet_webhook_deliveries_total{outcome="failed"} 1',
      'ratchet_webhook_deliveries_total{outcome="delivered"} 1',
    ]);
    expect(lines(text, 'ratchet_ledger_append_duration_seconds_count')).toEqual([
      'ratchet_ledger_append_duration_seconds_count 1',
    ]);
  });

  it('counts a resumed training from its resume step and reports its rate over its own time', () => {
    const meter = trainingMeter(40);
    meter(40, 0); // no step done yet
    meter(41, 10);
    meter(50, 100);
    meter(50, 120); // a repeated report counts nothing
    expect(lines(render(), 'ratchet_training_steps_total ')).toEqual(['ratchet_training_steps_total 10']);
    expect(lines(render(), 'ratchet_training_steps_per_second ')).toEqual(['ratchet_training_steps_per_second 100']);
  });
});

describe('telemetry configuration', () => {
  it('traces only to a configured OTLP endpoint, as OpenTelemetry derives it', () => {
    expect(loadConfig({}).telemetry.tracesUrl).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).telemetry.tracesUrl).toBe(
      'http://collector:4318/v1/traces',
    );
    const both = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b/t' };
    expect(loadConfig(both).telemetry.tracesUrl).toBe('http://b/t');
    expect(loadConfig({ ...both, OTEL_SDK_DISABLED: 'true' }).telemetry.tracesUrl).toBeUndefined();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).toThrowError(
      /OTEL_EXPORTER_OTLP_ENDPOINT: expected a URL/,
    );
  });

  it("serves a worker's metrics only on a configured port", () => {
    expect(loadConfig({}).telemetry).toMatchObject({ metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(loadConfig({ RATCHET_METRICS_PORT: ' ' }).telemetry.metricsPort).toBeUndefined();
    expect(loadConfig({ RATCHET_METRICS_PORT: '9464', RATCHET_METRICS_HOST: '0.0.0.0' }).telemetry).toMatchObject({
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
    });
    expect(() => loadConfig({ RATCHET_METRICS_PORT: 'x' })).toThrowError(
      /RATCHET_METRICS_PORT: expected a port number/,
    );
  });
});
