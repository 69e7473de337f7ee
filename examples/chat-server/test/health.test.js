// SPDX-License-Identifier: GPL-3.0-or-later
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, tempCwd, dbRelay, getJson } = require('./helpers');

test('GET /chat/health: 200 with status, db, release (REVISION file) and uptime', async () => {
  const server = await startServer({}, { cwd: tempCwd({ REVISION: '20260101T000000Z\n' }) });
  try {
    const { status, body, headers } = await getJson(`${server.url()}/chat/health`);
    assert.equal(status, 200);
    assert.match(headers.get('content-type'), /application\/json/);
    assert.equal(body.status, 'ok');
    assert.equal(body.db, 'ok');
    assert.equal(body.release, '20260101T000000Z');
    assert.equal(typeof body.uptime, 'number');
  } finally {
    await server.stop();
  }
});

test('release: CHAT_RELEASE_ID wins over REVISION; "unknown" without either', async () => {
  const a = await startServer({ CHAT_RELEASE_ID: 'rel-42' }, { cwd: tempCwd({ REVISION: 'other' }) });
  const b = await startServer();
  try {
    assert.equal((await getJson(`${a.url()}/chat/health`)).body.release, 'rel-42');
    assert.equal((await getJson(`${b.url()}/chat/health`)).body.release, 'unknown');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('503 {"status":"error","db":"down"} while the database is unreachable, 200 again after', async () => {
  const relay = await dbRelay();
  const server = await startServer({ CHAT_DATABASE_URL: relay.url, CHAT_HEALTH_TIMEOUT_MS: '1000' });
  try {
    assert.equal((await getJson(`${server.url()}/chat/health`)).status, 200);
    await relay.cut();
    const started = Date.now();
    const down = await getJson(`${server.url()}/chat/health`);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'error');
    assert.equal(down.body.db, 'down');
    assert.ok(Date.now() - started < 3000, 'health answers quickly, it never hangs');
    await relay.restore();
    let up;
    for (let i = 0; i < 20; i++) {
      up = await getJson(`${server.url()}/chat/health`);
      if (up.status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(up.status, 200);
  } finally {
    await server.stop();
    await relay.cut();
  }
});

test('503 when the server starts without its database; other paths 404', async () => {
  const server = await startServer({ CHAT_DATABASE_URL: 'postgresql://chat:pw@127.0.0.1:1/chat', CHAT_HEALTH_TIMEOUT_MS: '500' });
  try {
    const res = await getJson(`${server.url()}/chat/health`);
    assert.equal(res.status, 503);
    assert.equal(res.body.db, 'down');
    assert.equal((await getJson(`${server.url()}/nope`)).status, 404);
  } finally {
    await server.stop();
  }
});

test('DB_OK is logged when a health probe is the first query to reach the database', async () => {
  const relay = await dbRelay();
  await relay.cut();
  const server = await startServer({ CHAT_DATABASE_URL: relay.url, CHAT_HEALTH_TIMEOUT_MS: '500' });
  try {
    assert.ok(!server.stdout.includes('DB_OK'), server.stdout);
    await relay.restore();
    // the start-up check retries every 5 s; probe at once so the health handler sees the database first
    let up;
    for (let i = 0; i < 20; i++) {
      up = await getJson(`${server.url()}/chat/health`);
      if (up.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(up.status, 200);
    assert.match(server.stdout, /^DB_OK$/m, 'operators and the deploy gate wait for this line');
  } finally {
    await server.stop();
    await relay.cut();
  }
});
