// SPDX-License-Identifier: GPL-3.0-or-later
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const pg = require('pg');
const { startServer, visitor, databaseUrl, withDb, until } = require('./helpers');

// inserts blocked by our table lock, i.e. writes truly in flight in the server
const waitingOnLock = () => withDb(async (c) => (await c.query(
  "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%messages%'",
)).rows[0].n);

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal}: writes in flight finish and are acked, then the server exits 0`, async () => {
    const server = await startServer();
    const v = await visitor(server);
    assert.ok(v.ok, v.error);
    const first = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'open the conversation' });
    assert.equal(first.ok, true);

    // hold every insert in the database, so the messages are truly in flight
    const blocker = new pg.Client({ connectionString: databaseUrl() });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE messages IN EXCLUSIVE MODE');
    const texts = Array.from({ length: 8 }, (_, i) => `in flight ${signal} ${i}`);
    const acks = texts.map((text) => v.socket.timeout(30000).emitWithAck('visitor:message', { text }));
    await until('the inserts to wait on the lock', async () => (await waitingOnLock()) >= texts.length);
    server.proc.kill(signal);
    await until('the shutdown to start', () => server.stdout.includes('SHUTDOWN signal='));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(server.exitCode, undefined, 'the server waits for pending writes');
    await blocker.query('COMMIT');
    await blocker.end();

    const results = await Promise.all(acks);
    for (const r of results) assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(await server.exited, 0, server.stderr);
    assert.match(server.stdout, /SHUTDOWN signal=/);
    assert.match(server.stdout, /SHUTDOWN_OK/);
    const rows = await withDb((c) => c.query('SELECT id FROM messages WHERE id = ANY($1::text[])', [results.map((r) => r.id)]));
    assert.equal(rows.rowCount, texts.length, 'every acknowledged message is in the database');
    v.socket.close();
  });
}

test('after a shutdown starts, new connections are refused', async () => {
  const server = await startServer();
  const v = await visitor(server);
  const blocker = new pg.Client({ connectionString: databaseUrl() });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE messages IN EXCLUSIVE MODE');
  const pending = v.socket.timeout(30000).emitWithAck('visitor:message', { text: 'keeps the server draining' });
  await until('the insert to wait on the lock', async () => (await waitingOnLock()) >= 1);
  server.proc.kill('SIGTERM');
  await until('the shutdown to start', () => server.stdout.includes('SHUTDOWN signal='));
  const late = await visitor(server, { timeout: 2000 });
  assert.equal(late.ok, false);
  await blocker.query('COMMIT');
  await blocker.end();
  assert.equal((await pending).ok, true);
  assert.equal(await server.exited, 0);
  v.socket.close();
});
