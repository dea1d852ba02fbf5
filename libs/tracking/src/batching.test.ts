import { describe, expect, it } from 'vitest';
import { batchBody, splitIntoBatches, type BatchEntity } from './batching';
import { MLFLOW_LIMITS } from './limits';

const metric = (i: number): BatchEntity => ({ kind: 'metric', metric: { key: `m${i % 7}`, value: i / 3, timestamp: 1700000000000 + i, step: i } });
const param = (i: number, len = 4): BatchEntity => ({ kind: 'param', param: { key: `p${i}`, value: 'x'.repeat(len) } });
const tag = (i: number, len = 4): BatchEntity => ({ kind: 'tag', tag: { key: `t${i}`, value: 'y'.repeat(len) } });

function check(entities: BatchEntity[]) {
  const ranges = splitIntoBatches('0123456789abcdef0123456789abcdef', entities);
  let next = 0;
  for (const { start, end } of ranges) {
    expect(start).toBe(next); // contiguous, order-preserving, nothing lost
    next = end;
    const body = batchBody('0123456789abcdef0123456789abcdef', entities.slice(start, end));
    expect(body.metrics.length).toBeLessThanOrEqual(MLFLOW_LIMITS.metricsPerBatch);
    expect(body.params.length).toBeLessThanOrEqual(MLFLOW_LIMITS.paramsPerBatch);
    expect(body.tags.length).toBeLessThanOrEqual(MLFLOW_LIMITS.tagsPerBatch);
    expect(body.metrics.length + body.params.length + body.tags.length).toBeLessThanOrEqual(MLFLOW_LIMITS.entitiesPerBatch);
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(MLFLOW_LIMITS.batchBodyBytes);
  }
  expect(next).toBe(entities.length);
  return ranges;
}

describe('splitIntoBatches', () => {
  it('keeps exactly 1000 metrics in one batch and moves the 1001st to a second', () => {
    expect(check(Array.from({ length: 1000 }, (_, i) => metric(i)))).toHaveLength(1);
    expect(check(Array.from({ length: 1001 }, (_, i) => metric(i)))).toEqual([{ start: 0, end: 1000 }, { start: 1000, end: 1001 }]);
  });

  it('splits params at 100 and tags at 100', () => {
    expect(check(Array.from({ length: 250 }, (_, i) => param(i))).map((r) => r.end - r.start)).toEqual([100, 100, 50]);
    expect(check(Array.from({ length: 101 }, (_, i) => tag(i))).map((r) => r.end - r.start)).toEqual([100, 1]);
  });

  it('caps the total entity count at 1000 across kinds', () => {
    const mixed = [...Array.from({ length: 950 }, (_, i) => metric(i)), ...Array.from({ length: 80 }, (_, i) => param(i))];
    const ranges = check(mixed);
    expect(ranges[0].end - ranges[0].start).toBe(1000);
  });

  it('splits by body size before the count limits when values are long', () => {
    // 100 params of 6000 chars (~0.6 MB) + 100 tags of 8000 chars (~0.8 MB): counts allow one batch, bytes do not.
    const big = [...Array.from({ length: 100 }, (_, i) => param(i, 6000)), ...Array.from({ length: 100 }, (_, i) => tag(i, 8000))];
    const ranges = check(big);
    expect(ranges.length).toBe(2);
  });

  it('starts a new batch when a param key repeats (MLflow rejects duplicate keys in one batch)', () => {
    expect(check([param(1), param(2), param(1)])).toEqual([{ start: 0, end: 2 }, { start: 2, end: 3 }]);
  });

  it('encodes non-finite metric values as MLflow strings', () => {
    const body = batchBody('r', [
      { kind: 'metric', metric: { key: 'a', value: NaN, timestamp: 1, step: 0 } },
      { kind: 'metric', metric: { key: 'a', value: -Infinity, timestamp: 1, step: 1 } },
    ]);
    expect(body.metrics.map((m) => m.value)).toEqual(['NaN', '-Infinity']);
  });
});
