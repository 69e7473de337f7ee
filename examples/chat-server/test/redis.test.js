// SPDX-License-Identifier: GPL-3.0-or-later
// Several chat hosts: two real chat-server processes on one database, with and
// without the Socket.IO Redis adapter (CHAT_REDIS_URL), against the real
// redis-server tests/node/run starts (CHAT_TEST_REDIS_URL).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  NO_REDIS, redisUrl, startServer, visitor, admin, nextEvent, dbRelay, getJson, until,
} = require('./helpers');

const password = () => decodeURIComponent(new URL(redisUrl()).password);

// resolves true when `event` arrives within ms, false otherwise
function arrives(socket, event, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      resolve(false);
    }, ms);
    function on() {
      clearTimeout(timer);
      resolve(true);
    }
    socket.once(event, on);
  });
}

// a visitor on `a`, agents on `a` and `b`, a bystander visitor on `b`; returns what crossed
async function crossTalk(a, b) {
  const agentA = await admin(a);
  const agentB = await admin(b);
  const v = await visitor(a);
  const bystander = await visitor(b);
  try {
    assert.ok(agentA.ok && agentB.ok && v.ok && bystander.ok, `${agentA.error} ${agentB.error} ${v.error} ${bystander.error}`);
    // the visitor and agent servers have their own Redis keys: agent events never reach visitors
    const leaked = arrives(bystander.socket, 'visitor:message', 3000);
    const onA = nextEvent(agentA.socket, 'visitor:message');
    const onB = arrives(agentB.socket, 'visitor:message', 3000);
    const ack = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'from a visitor on A' });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assert.equal((await onA).id, ack.id, 'the agent on the same instance always gets it');
    const crossed = await onB;
    let replied = null;
    if (crossed) {
      const reply = nextEvent(v.socket, 'admin:reply');
      const rack = await agentB.socket.timeout(5000).emitWithAck('admin:reply', { conversationId: ack.conversationId, text: 'from an agent on B' });
      assert.equal(rack.ok, true, JSON.stringify(rack));
      replied = await reply;
      assert.deepEqual(replied, { id: rack.id, text: 'from an agent on B' });
    }
    assert.equal(await leaked, false, 'a visitor never gets the agents\' visitor:message');
    return { crossed, replied };
  } finally {
    for (const s of [agentA, agentB, v, bystander]) s.socket.close();
  }
}

test('without CHAT_REDIS_URL two instances are independent: a visitor on A does not reach an agent on B', async () => {
  const a = await startServer();
  const b = await startServer();
  try {
    assert.doesNotMatch(a.stdout + a.stderr, /REDIS/);
    const health = await getJson(`${a.url()}/chat/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body.redis, undefined, 'no redis part in the health answer');
    const { crossed } = await crossTalk(a, b);
    assert.equal(crossed, false, 'without Redis nothing crosses instances');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('with one Redis: a visitor on A reaches an agent on B, and the reply on B reaches the visitor on A', { skip: NO_REDIS }, async () => {
  const a = await startServer({ CHAT_REDIS_URL: redisUrl() }, { waitFor: 'WS_OK' });
  const b = await startServer({ CHAT_REDIS_URL: redisUrl() }, { waitFor: 'WS_OK' });
  try {
    for (const s of [a, b]) {
      const lines = s.stdout.trim().split('\n');
      assert.deepEqual(lines.slice(1), ['DB_OK', 'REDIS_OK', 'WS_OK visitor=/ws-visitor admin=/ws-admin'], s.stdout + s.stderr);
      const health = await getJson(`${s.url()}/chat/health`);
      assert.equal(health.status, 200);
      assert.equal(health.body.redis, 'ok');
    }
    const { crossed, replied } = await crossTalk(a, b);
    assert.equal(crossed, true, 'visitor:message crossed to the agent on B');
    assert.ok(replied, 'admin:reply crossed back to the visitor on A');
    // and the other way round, over the polling transport
    const agentA = await admin(a, { transport: 'polling' });
    const vB = await visitor(b, { transport: 'polling' });
    try {
      const got = nextEvent(agentA.socket, 'visitor:message');
      const ack = await vB.socket.timeout(5000).emitWithAck('visitor:message', { text: 'polling on B' });
      assert.equal((await got).id, ack.id);
    } finally {
      agentA.socket.close();
      vB.socket.close();
    }
  } finally {
    await a.stop();
    await b.stop();
  }
  for (const s of [a, b]) {
    assert.equal(s.exitCode, 0, s.stderr);
    assert.match(s.stdout, /SHUTDOWN_OK/);
    assert.ok(!(s.stdout + s.stderr).includes(password()), 'the Redis password is never logged');
  }
});

test('stopping one instance disconnects only its own clients', { skip: NO_REDIS }, async () => {
  const a = await startServer({ CHAT_REDIS_URL: redisUrl() });
  const b = await startServer({ CHAT_REDIS_URL: redisUrl() });
  const vA = await visitor(a);
  const vB = await visitor(b);
  try {
    assert.ok(vA.ok && vB.ok);
    const lostB = arrives(vB.socket, 'disconnect', 2000);
    await a.stop();
    assert.equal(a.exitCode, 0, a.stderr);
    assert.equal(await lostB, false, 'a visitor on B stays connected while A shuts down');
    assert.equal(vB.socket.connected, true);
  } finally {
    vA.socket.close();
    vB.socket.close();
    await b.stop();
  }
});

test('Redis unreachable: health 503 with reason redis, REDIS_ERROR once; after it returns REDIS_OK again and messages cross', { skip: NO_REDIS }, async () => {
  const relay = await dbRelay(redisUrl());
  const a = await startServer({ CHAT_REDIS_URL: relay.url, CHAT_HEALTH_TIMEOUT_MS: '1000' });
  const b = await startServer({ CHAT_REDIS_URL: redisUrl() });
  try {
    assert.equal((await getJson(`${a.url()}/chat/health`)).status, 200);
    await relay.cut();
    let down;
    await until('health 503', async () => {
      down = await getJson(`${a.url()}/chat/health`);
      return down.status === 503;
    });
    assert.equal(down.body.status, 'error');
    assert.equal(down.body.reason, 'redis');
    assert.equal(down.body.redis, 'down');
    assert.equal(down.body.db, 'ok');
    await until('REDIS_ERROR', () => a.stderr.includes('REDIS_ERROR'));
    await new Promise((r) => setTimeout(r, 1500)); // several reconnect attempts
    assert.equal(a.stderr.match(/REDIS_ERROR/g).length, 1, `logged once per outage, not per retry:\n${a.stderr}`);
    assert.equal(a.exitCode, undefined, 'the server keeps running');

    await relay.restore();
    await until('REDIS_OK reconnected', () => a.stdout.includes('REDIS_OK reconnected'));
    assert.equal((await getJson(`${a.url()}/chat/health`)).status, 200);
    // the subscriptions came back with the connection
    let crossed = false;
    await until('a message to cross again', async () => {
      ({ crossed } = await crossTalk(a, b));
      return crossed;
    }, 10000, 100);
    assert.ok(!(a.stdout + a.stderr).includes(password()), 'the Redis password is never logged');
  } finally {
    await a.stop();
    await b.stop();
    await relay.cut();
  }
  assert.equal(a.exitCode, 0, a.stderr);
});

test('a wrong Redis password: REDIS_ERROR naming the refusal, never the password; health 503', { skip: NO_REDIS }, async () => {
  const url = new URL(redisUrl());
  url.password = 'wrong-password-0123456789';
  const s = await startServer({ CHAT_REDIS_URL: url.toString(), CHAT_HEALTH_TIMEOUT_MS: '500' }, { ipc: true });
  try {
    assert.match(s.stderr, /REDIS_ERROR .*(WRONGPASS|NOAUTH|invalid)/i);
    assert.ok(!(s.stdout + s.stderr).includes('wrong-password-0123456789'));
    assert.doesNotMatch(s.stdout, /REDIS_OK/);
    const res = await getJson(`${s.url()}/chat/health`);
    assert.equal(res.status, 503);
    assert.equal(res.body.reason, 'redis');
    assert.deepEqual(s.messages, [], 'not ready without Redis');
  } finally {
    await s.stop();
  }
  assert.equal(s.exitCode, 0, s.stderr);
});

test('ready only once Redis answers: started with Redis down, PM2 gets ready after REDIS_OK', { skip: NO_REDIS }, async () => {
  const relay = await dbRelay(redisUrl());
  await relay.cut();
  const s = await startServer({ CHAT_REDIS_URL: relay.url, CHAT_HEALTH_TIMEOUT_MS: '500' }, { ipc: true });
  try {
    assert.match(s.stdout, /DB_OK/);
    assert.match(s.stderr, /REDIS_ERROR .*\(reconnecting; \/chat\/health answers 503\)/);
    assert.equal((await getJson(`${s.url()}/chat/health`)).status, 503);
    assert.deepEqual(s.messages, []);
    await relay.restore();
    await until('the ready message', () => s.messages.includes('ready'));
    assert.match(s.stdout, /^REDIS_OK$/m);
    assert.equal((await getJson(`${s.url()}/chat/health`)).status, 200);
  } finally {
    await s.stop();
    await relay.cut();
  }
});
