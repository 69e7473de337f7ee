// SPDX-License-Identifier: GPL-3.0-or-later
// A shutdown (PM2 reload, stop) ends the Socket.IO connections so that clients reconnect by
// themselves: they must see "transport close", never "io server disconnect" (a DISCONNECT packet,
// after which socket.io-client gives up for good). And a request already received gets its answer.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const pg = require('pg');
const { startServer, visitor, admin, adminToken, nextEvent, databaseUrl, withDb, until } = require('./helpers');

for (const transport of ['websocket', 'polling']) {
  test(`shutdown: ${transport} visitors and agents are told "transport close", so they reconnect`, async () => {
    const server = await startServer();
    const v = await visitor(server, { transport });
    const a = await admin(server, { transport });
    assert.ok(v.ok, v.error);
    assert.ok(a.ok, a.error);
    const reasons = Promise.all([nextEvent(v.socket, 'disconnect', 15000), nextEvent(a.socket, 'disconnect', 15000)]);
    await server.stop('SIGINT');
    assert.deepEqual(await reasons, ['transport close', 'transport close']);
    assert.equal(server.exitCode, 0, server.stderr);
    v.socket.close();
    a.socket.close();
  });
}

test('shutdown: an HTTP request in progress gets its answer before the process exits', async () => {
  const server = await startServer();
  // hold the agent API's query on a lock, so the request is truly in progress during the shutdown
  const blocker = new pg.Client({ connectionString: databaseUrl() });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE');
  const answer = new Promise((resolve) => {
    const req = http.get(`${server.url()}/chat/conversations`, { headers: { Authorization: `Bearer ${adminToken()}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', (err) => resolve(err.code || err.message));
  });
  await until('the query to wait on the lock', async () => (await withDb(async (c) => (await c.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%conversations%'",
  )).rows[0].n)) >= 1);
  server.proc.kill('SIGTERM');
  await until('the shutdown to start', () => server.stdout.includes('SHUTDOWN signal='));
  await new Promise((r) => setTimeout(r, 500));
  await blocker.query('COMMIT');
  await blocker.end();
  assert.equal(await answer, 200);
  assert.equal(await server.exited, 0, server.stderr);
});
