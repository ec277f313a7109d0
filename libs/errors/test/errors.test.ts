import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, HashCheckError, isHashCheckError, isRetriable, errorCodeOf, isDuplicateKeyError, hasCode } from '@hashcheck/errors';

test('HashCheckError carries code, retriable, cause and an HTTP status from its code', () => {
  const cause = new Error('boom');
  const err = new HashCheckError(ErrorCode.NOT_FOUND, 'no such report', { cause });
  assert.equal(err.code, 'HC_NOT_FOUND');
  assert.equal(err.retriable, false);
  assert.equal(err.statusCode, 404);
  assert.equal(err.cause, cause);
  assert.deepEqual(err.toJSON(), { code: 'HC_NOT_FOUND', message: 'no such report' });
  assert.ok(hasCode(err, ErrorCode.NOT_FOUND));
  assert.ok(!hasCode(err, ErrorCode.CONFLICT));
});

test('recognised structurally, not by instanceof', () => {
  const foreign = Object.assign(new Error('x'), { name: 'HashCheckError', code: 'HC_X', retriable: true });
  assert.ok(isHashCheckError(foreign));
  assert.ok(isRetriable(foreign));
  assert.ok(!isHashCheckError(new Error('plain')));
  assert.ok(!isHashCheckError(null));
});

test('retry classification in one place', () => {
  assert.equal(isRetriable(new HashCheckError(ErrorCode.VALIDATION, 'bad')), false);
  assert.equal(isRetriable(new HashCheckError(ErrorCode.DEPENDENCY_UNAVAILABLE, 'down', { retriable: true })), true);
  // kafkajs-style flag
  assert.equal(isRetriable(Object.assign(new Error('k'), { retriable: true })), true);
  // MongoDB network error by name
  assert.equal(isRetriable(Object.assign(new Error('m'), { name: 'MongoNetworkError' })), true);
  // MongoDB error label
  assert.equal(isRetriable(Object.assign(new Error('m'), { hasErrorLabel: (l: string) => l === 'RetryableWriteError' })), true);
  // the 7.x driver's labels on a connection it could not make, as on the bulk-write error that wraps it
  // (D4: `MongoBulkWriteError: connect ECONNREFUSED`, writeErrors [], no code, no cause)
  const refused = (labels: string[]) => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { name: 'MongoBulkWriteError', writeErrors: [], hasErrorLabel: (l: string) => labels.includes(l) });
  assert.equal(isRetriable(refused(['SystemOverloadedError', 'RetryableError'])), true);
  assert.equal(isRetriable(refused(['RetryableError'])), true);
  assert.equal(isRetriable(refused([])), false, 'without a label the bulk error alone says nothing');
  // ... or no label, and the driver's original error in `errorResponse` (D4 run 4)
  const selection = Object.assign(new Error('Server selection timed out'), { name: 'MongoServerSelectionError' });
  assert.equal(isRetriable(Object.assign(refused([]), { errorResponse: selection })), true);
  assert.equal(isRetriable(Object.assign(refused([]), { errorResponse: { ok: 0, code: 2, errmsg: 'bad value' } })), false, "a server's refusal stays poison");
  // socket errors, also when wrapped
  assert.equal(isRetriable(new Error('wrapped', { cause: Object.assign(new Error('s'), { code: 'ECONNREFUSED' }) })), true);
  assert.equal(isRetriable(new TypeError('bug')), false);
  assert.equal(isRetriable('string'), false);
});

test('error codes and duplicate keys', () => {
  assert.equal(errorCodeOf(new HashCheckError('HC_CUSTOM', 'c')), 'HC_CUSTOM');
  assert.equal(errorCodeOf(new Error('x')), ErrorCode.INTERNAL);
  assert.ok(isDuplicateKeyError({ code: 11000 }));
  assert.ok(!isDuplicateKeyError({ code: 11001 }));
});

test('a replica set changing its primary, or a client closed under an operation, is retriable', () => {
  // What the driver throws with retryable writes off: the server's code, no label.
  const server = (code: number, name = 'MongoServerError') => Object.assign(new Error(`server code ${code}`), { name, code, hasErrorLabel: () => false });
  for (const code of [10107, 11602, 189, 91, 11600, 13435, 13436, 9001, 6, 7, 89, 262, 134]) assert.equal(isRetriable(server(code)), true, `code ${code}`);
  assert.equal(isRetriable(server(10107, 'MongoWriteConcernError')), true, 'also as a write-concern error');
  assert.equal(isRetriable(server(11000)), false, 'a duplicate key stays an answer');
  assert.equal(isRetriable(server(121)), false, 'a document the server refuses stays poison');
  assert.equal(isRetriable(Object.assign(new Error('x'), { code: 10107 })), false, 'a number on an error that is not the driver\'s says nothing');
  for (const name of ['MongoPoolClosedError', 'MongoClientClosedError', 'MongoServerClosedError', 'MongoOperationTimeoutError']) {
    assert.equal(isRetriable(Object.assign(new Error(name), { name })), true, name);
  }
});
