// SPDX-License-Identifier: GPL-3.0-or-later
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, SECRET, tempCwd } = require('./helpers');

async function expectStartupError(env, key) {
  const server = await startServer(env, { waitFor: null });
  const code = await server.exited;
  assert.equal(code, 1, `exit code for ${key}; stderr=${server.stderr}`);
  const lines = server.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line only, got: ${server.stderr}`);
  assert.match(lines[0], new RegExp(`^chat-server: ${key} `));
  assert.doesNotMatch(server.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(server.stdout, /SERVER_OK/);
  return lines[0];
}

for (const key of ['CHAT_DATABASE_URL', 'CHAT_ADMIN_JWT_SECRET', 'CHAT_ALLOWED_ORIGINS', 'ADMIN_ALLOWED_ORIGINS']) {
  test(`a missing ${key} stops the start with one line naming it`, async () => {
    const line = await expectStartupError({ [key]: undefined }, key);
    assert.match(line, /is missing/);
  });
}

test('malformed keys are named, and a bad secret is never echoed', async () => {
  const weak = 'short-but-secret-value';
  const line = await expectStartupError({ CHAT_ADMIN_JWT_SECRET: weak }, 'CHAT_ADMIN_JWT_SECRET');
  assert.match(line, /at least 32 characters/);
  assert.ok(!line.includes(weak));

  await expectStartupError({ CHAT_SERVER_PORT: 'forty' }, 'CHAT_SERVER_PORT');
  await expectStartupError({ CHAT_SERVER_PORT: '70000' }, 'CHAT_SERVER_PORT');
  await expectStartupError({ CHAT_ALLOWED_ORIGINS: 'admin1167.com' }, 'CHAT_ALLOWED_ORIGINS');
  await expectStartupError({ ADMIN_ALLOWED_ORIGINS: 'https://admin1167.net/admin' }, 'ADMIN_ALLOWED_ORIGINS');
  await expectStartupError({ CHAT_DATABASE_URL: 'mysql://u:p@127.0.0.1/chat' }, 'CHAT_DATABASE_URL');
  await expectStartupError({ CHAT_WS_RATE_PER_MIN: '0' }, 'CHAT_WS_RATE_PER_MIN');
  const redisLine = await expectStartupError({ CHAT_REDIS_URL: 'http://:redis-secret-value@127.0.0.1:6379' }, 'CHAT_REDIS_URL');
  assert.ok(!redisLine.includes('redis-secret-value'));
});

test('keys are read from .env in the working directory; the environment wins', async () => {
  const cwd = tempCwd({
    '.env': `# comment\nCHAT_ADMIN_JWT_SECRET="${SECRET}"\nCHAT_ALLOWED_ORIGINS=https://from-dotenv.example\n`,
  });
  const server = await startServer({ CHAT_ADMIN_JWT_SECRET: undefined, CHAT_ALLOWED_ORIGINS: undefined }, { cwd });
  try {
    assert.match(server.stdout, /SERVER_OK port=\d+\nDB_OK\nWS_OK visitor=\/ws-visitor admin=\/ws-admin\n/);
  } finally {
    await server.stop();
  }
});

test('the three start-up lines come in order, DB_OK only after a real query', async () => {
  const server = await startServer();
  try {
    const lines = server.stdout.trim().split('\n');
    assert.match(lines[0], /^SERVER_OK port=\d+$/);
    assert.equal(lines[1], 'DB_OK');
    assert.equal(lines[2], 'WS_OK visitor=/ws-visitor admin=/ws-admin');
  } finally {
    await server.stop();
  }

  // an unreachable database: no DB_OK, a DB_ERROR line, the server keeps running
  const down = await startServer({ CHAT_DATABASE_URL: 'postgresql://chat:pw@127.0.0.1:1/chat', CHAT_HEALTH_TIMEOUT_MS: '500' });
  try {
    assert.ok(!down.stdout.includes('DB_OK'), down.stdout);
    assert.match(down.stderr, /DB_ERROR/);
    assert.ok(!down.stderr.includes(':pw@'), 'the database password is not logged');
    assert.equal(down.exitCode, undefined, 'still running');
  } finally {
    await down.stop();
  }
});

test('a port already in use is reported in one line', async () => {
  const first = await startServer();
  try {
    const second = await startServer({ CHAT_SERVER_PORT: String(first.port) }, { waitFor: null });
    assert.equal(await second.exited, 1);
    assert.match(second.stderr.trim(), /^chat-server: CHAT_SERVER_PORT \d+ is already in use$/);
  } finally {
    await first.stop();
  }
});
