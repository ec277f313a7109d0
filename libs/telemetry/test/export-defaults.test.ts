import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyExportDefaults } from '../src/sdk';

test('span export limits: defaults sized for a pipeline burst, and whatever the operator set is kept', () => {
  const unset: NodeJS.ProcessEnv = {};
  applyExportDefaults(unset);
  assert.deepEqual(unset, { OTEL_BSP_MAX_QUEUE_SIZE: '16384', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048', OTEL_BSP_SCHEDULE_DELAY: '1000', OTEL_LOG_LEVEL: 'warn' });
  const set: NodeJS.ProcessEnv = { OTEL_BSP_MAX_QUEUE_SIZE: '4096', OTEL_LOG_LEVEL: 'error' };
  applyExportDefaults(set);
  assert.equal(set.OTEL_BSP_MAX_QUEUE_SIZE, '4096');
  assert.equal(set.OTEL_LOG_LEVEL, 'error');
  assert.equal(set.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, '2048');
});
