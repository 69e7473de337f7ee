// SPDX-License-Identifier: GPL-3.0-or-later
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, visitor, getJson, withDb } = require('./helpers');

test('REST: CHAT_REST_RATE_PER_MIN per client IP, 429 + Retry-After; health is never limited', async () => {
  const server = await startServer({ CHAT_REST_RATE_PER_MIN: '3' });
  try {
    const url = `${server.url()}/chat/conversations`;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await getJson(url)).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const limited = await getJson(url);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // behind the local Nginx: X-Real-IP from a loopback peer is the client
    assert.equal((await getJson(url, { 'X-Real-IP': '203.0.113.7' })).status, 401);
    assert.equal((await getJson(url, { 'X-Forwarded-For': '198.51.100.1, 203.0.113.9' })).status, 401);
    for (let i = 0; i < 5; i++) assert.equal((await getJson(`${server.url()}/chat/health`)).status, 200);
  } finally {
    await server.stop();
  }
});

test('WS: CHAT_WS_RATE_PER_MIN messages per client IP; refused messages are not stored', async () => {
  const server = await startServer({ CHAT_WS_RATE_PER_MIN: '2' });
  const v = await visitor(server);
  try {
    const a1 = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'rate 1' });
    const a2 = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'rate 2' });
    const a3 = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'rate 3' });
    assert.equal(a1.ok, true);
    assert.equal(a2.ok, true);
    assert.deepEqual(a3, { ok: false, error: 'rate limited' });
    const n = await withDb((c) => c.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [a1.conversationId]));
    assert.equal(n.rows[0].n, 2);
  } finally {
    v.socket.close();
    await server.stop();
  }
});

test('agent REST API answers with a valid token', async () => {
  const { adminToken } = require('./helpers');
  const server = await startServer();
  try {
    const res = await getJson(`${server.url()}/chat/conversations?limit=5`, { Authorization: `Bearer ${adminToken()}` });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.conversations));
    const bad = await getJson(`${server.url()}/chat/conversations`, { Authorization: 'Bearer nope' });
    assert.equal(bad.status, 401);
  } finally {
    await server.stop();
  }
});
