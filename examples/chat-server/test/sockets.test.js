// SPDX-License-Identifier: GPL-3.0-or-later
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const {
  ROOT, SECRET, VISITOR_ORIGIN, ADMIN_ORIGIN, startServer, visitor, admin, adminToken, nextEvent, withDb, tempCwd,
} = require('./helpers');

let server;
test.before(async () => {
  server = await startServer();
});
test.after(async () => {
  await server.stop();
});

test('visitor origin: allowed origin connects, others are refused naming the origin', async () => {
  const ok = await visitor(server);
  assert.ok(ok.ok, ok.error);
  ok.socket.close();

  const bad = await visitor(server, { origin: 'https://evil.example' });
  assert.equal(bad.ok, false);
  assert.equal(bad.error, 'origin refused: https://evil.example is not in CHAT_ALLOWED_ORIGINS');

  const none = await visitor(server, { origin: null });
  assert.equal(none.ok, false);
  assert.match(none.error, /origin refused: \(none\)/);

  // the admin origin is not a visitor origin
  const cross = await visitor(server, { origin: ADMIN_ORIGIN });
  assert.equal(cross.ok, false);
});

test('agent origin: ADMIN_ALLOWED_ORIGINS is enforced even with a valid token', async () => {
  const ok = await admin(server);
  assert.ok(ok.ok, ok.error);
  ok.socket.close();
  const bad = await admin(server, { origin: VISITOR_ORIGIN });
  assert.equal(bad.ok, false);
  assert.equal(bad.error, `origin refused: ${VISITOR_ORIGIN} is not in ADMIN_ALLOWED_ORIGINS`);
});

test('agent JWT: wrong secret, expired, wrong role, no exp, alg none, missing token are refused', async () => {
  const cases = [
    [adminToken({}, 'another-secret-0123456789abcdef-0123456789'), /invalid token signature/],
    [adminToken({ exp: Math.floor(Date.now() / 1000) - 60 }), /token expired/],
    [adminToken({ role: 'visitor' }), /role is not admin/],
    [adminToken({ exp: undefined }), /no exp/],
    [`${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ role: 'admin', exp: 9999999999 })).toString('base64url')}.`, /HS256/],
    [undefined, /missing token/],
    ['not-a-jwt', /malformed/],
  ];
  for (const [token, why] of cases) {
    const res = await admin(server, { auth: token === undefined ? {} : { token } });
    assert.equal(res.ok, false, `token should be refused: ${why}`);
    assert.match(res.error, /^unauthorized: /);
    assert.match(res.error, why);
  }
});

test('round trip: visitor message stored then acked, agents get it, agent reply reaches that visitor only', async () => {
  const agent1 = await admin(server);
  const agent2 = await admin(server);
  const v = await visitor(server);
  const other = await visitor(server);
  try {
    assert.ok(agent1.ok && agent2.ok && v.ok && other.ok);
    const got1 = nextEvent(agent1.socket, 'visitor:message');
    const got2 = nextEvent(agent2.socket, 'visitor:message');
    const ack = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: '  hello from a visitor  ' });
    assert.equal(ack.ok, true);
    assert.match(ack.id, /^[0-9a-f-]{36}$/);
    assert.match(ack.conversationId, /^[0-9a-f-]{36}$/);
    for (const got of [await got1, await got2]) {
      assert.deepEqual(got, { id: ack.id, conversationId: ack.conversationId, text: 'hello from a visitor' });
    }

    // stored before the ack
    const row = await withDb((c) => c.query('SELECT text, sender, conversation_id FROM messages WHERE id = $1', [ack.id]));
    assert.deepEqual(row.rows, [{ text: 'hello from a visitor', sender: 'VISITOR', conversation_id: ack.conversationId }]);

    // a second message stays in the same conversation
    const ack2 = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'second' });
    assert.equal(ack2.conversationId, ack.conversationId);

    let leaked = false;
    other.socket.on('admin:reply', () => { leaked = true; });
    const reply = nextEvent(v.socket, 'admin:reply');
    const rack = await agent1.socket.timeout(5000).emitWithAck('admin:reply', { conversationId: ack.conversationId, text: 'hello from an agent' });
    assert.equal(rack.ok, true);
    assert.deepEqual(await reply, { id: rack.id, text: 'hello from an agent' });
    const stored = await withDb((c) => c.query('SELECT sender FROM messages WHERE id = $1', [rack.id]));
    assert.equal(stored.rows[0].sender, 'AGENT');
    const conv = await withDb((c) => c.query('SELECT last_message_at FROM conversations WHERE id = $1', [ack.conversationId]));
    assert.ok(conv.rows[0].last_message_at instanceof Date);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(leaked, false, 'another visitor must not get the reply');

    // bad input is refused and not stored
    assert.equal((await v.socket.timeout(5000).emitWithAck('visitor:message', { text: '   ' })).ok, false);
    assert.equal((await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'x'.repeat(5000) })).ok, false);
    const unknown = await agent1.socket.timeout(5000).emitWithAck('admin:reply', { conversationId: '00000000-0000-0000-0000-000000000000', text: 'hi' });
    assert.deepEqual(unknown, { ok: false, error: 'unknown conversation' });
  } finally {
    for (const s of [agent1, agent2, v, other]) s.socket.close();
  }
});

test('a visitor can resume its conversation after reconnecting', async () => {
  const v1 = await visitor(server);
  const ack = await v1.socket.timeout(5000).emitWithAck('visitor:message', { text: 'before reconnect' });
  v1.socket.close();
  const v2 = await visitor(server, { auth: { conversationId: ack.conversationId } });
  const agent = await admin(server);
  try {
    const reply = nextEvent(v2.socket, 'admin:reply');
    await agent.socket.timeout(5000).emitWithAck('admin:reply', { conversationId: ack.conversationId, text: 'after reconnect' });
    assert.equal((await reply).text, 'after reconnect');
  } finally {
    v2.socket.close();
    agent.socket.close();
  }
});

test('the polling transport works too', async () => {
  const v = await visitor(server, { transport: 'polling' });
  try {
    assert.ok(v.ok, v.error);
    const ack = await v.socket.timeout(5000).emitWithAck('visitor:message', { text: 'over polling' });
    assert.equal(ack.ok, true);
  } finally {
    v.socket.close();
  }
});

test('scripts/chat-client.js (socket.io-client) does the round trip and reports refusals', () => {
  const envFile = path.join(tempCwd({ '.env': `CHAT_ADMIN_JWT_SECRET=${SECRET}\n` }), '.env');
  const run = (...args) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'chat-client.js'), ...args], { encoding: 'utf8', timeout: 20000 });
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `one JSON line: ${r.stdout} ${r.stderr}`);
    return { code: r.status, out: JSON.parse(lines[0]), argv: args.join(' ') };
  };
  const common = ['--url', server.url(), '--origin', VISITOR_ORIGIN, '--admin-origin', ADMIN_ORIGIN];

  for (const [transport, extra] of [['websocket', []], ['polling', []], ['websocket', ['--host-header', 'chat.example.test']], ['polling', ['--host-header', 'chat.example.test']]]) {
    const rt = run('roundtrip', ...common, '--env-file', envFile, '--transport', transport, ...extra);
    assert.equal(rt.code, 0, JSON.stringify(rt.out));
    assert.equal(rt.out.ok, true);
    for (const step of ['admin_connect', 'visitor_connect', 'visitor_message', 'agent_received', 'admin_reply', 'visitor_received']) {
      assert.equal(rt.out.steps[step].ok, true, step);
    }
    assert.ok(!rt.argv.includes(SECRET), 'the secret is never on the command line');
  }

  const bad = run('admin', ...common, '--bad-secret', '--expect', 'refused');
  assert.equal(bad.code, 0);
  assert.equal(bad.out.result, 'refused');
  assert.match(bad.out.reason, /invalid token signature/);

  const refusedVisitor = run('visitor', '--url', server.url(), '--origin', 'https://evil.example');
  assert.equal(refusedVisitor.code, 1);
  assert.match(refusedVisitor.out.reason, /origin refused: https:\/\/evil.example is not in CHAT_ALLOWED_ORIGINS/);

  const failed = run('roundtrip', '--url', server.url(), '--origin', VISITOR_ORIGIN, '--admin-origin', VISITOR_ORIGIN, '--env-file', envFile);
  assert.equal(failed.code, 1);
  assert.equal(failed.out.failed_step, 'admin_connect');
  assert.match(failed.out.error, /ADMIN_ALLOWED_ORIGINS/);
});
