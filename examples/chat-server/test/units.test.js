// SPDX-License-Identifier: GPL-3.0-or-later
// Pure parts: dotenv parsing, config checks, JWT, rate limiter, client IP.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { parseDotenv } = require('../src/dotenv');
const { loadConfig, ConfigError } = require('../src/config');
const { sign, verifyAdminToken } = require('../src/jwt');
const { RateLimiter, clientIp } = require('../src/ratelimit');

const SECRET = 'unit-secret-0123456789abcdef-0123456789';

test('dotenv: comments, export, quotes, inline comments, CRLF', () => {
  const parsed = parseDotenv('# c\r\nA=1\r\nexport B="two words"\nC=\'x#y\'\nD=val # note\nE="line\\nnext"\nnot a line\n');
  assert.deepEqual(parsed, { A: '1', B: 'two words', C: 'x#y', D: 'val', E: 'line\nnext' });
});

test('config: defaults and normalised origins', () => {
  const c = loadConfig({
    CHAT_DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/chat?schema=chat',
    CHAT_ADMIN_JWT_SECRET: SECRET,
    CHAT_ALLOWED_ORIGINS: 'https://A.example/, https://b.example:8443',
    ADMIN_ALLOWED_ORIGINS: 'https://admin.example',
  });
  assert.equal(c.port, 4000);
  assert.deepEqual(c.allowedOrigins, ['https://a.example', 'https://b.example:8443']);
  assert.equal(c.database.schema, 'chat');
  assert.equal(c.restRatePerMin, 120);
  assert.equal(c.wsRatePerMin, 60);
  assert.throws(() => loadConfig({}), (e) => e instanceof ConfigError && e.key === 'CHAT_DATABASE_URL');
});

test('config: CHAT_REDIS_URL is optional, redis:// or rediss://, and never echoed', () => {
  const base = {
    CHAT_DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/chat',
    CHAT_ADMIN_JWT_SECRET: SECRET,
    CHAT_ALLOWED_ORIGINS: 'https://a.example',
    ADMIN_ALLOWED_ORIGINS: 'https://admin.example',
  };
  assert.equal(loadConfig(base).redis, null);
  assert.equal(loadConfig({ ...base, CHAT_REDIS_URL: '  ' }).redis, null);
  assert.deepEqual(loadConfig({ ...base, CHAT_REDIS_URL: 'redis://:p%40ss@10.0.0.5:6379/0' }).redis,
    { url: 'redis://:p%40ss@10.0.0.5:6379/0', password: 'p@ss' });
  assert.equal(loadConfig({ ...base, CHAT_REDIS_URL: 'rediss://redis.internal' }).redis.password, '');
  for (const bad of ['http://:hunter2-pass@h:6379', 'redis://:hunter2-pass@', 'redis://:hunter2-pass@h:6379/zero',
    'redis://:hunter2-pass@h:6379/0?x=1', 'hunter2-pass']) {
    assert.throws(() => loadConfig({ ...base, CHAT_REDIS_URL: bad }), (e) => {
      assert.ok(e instanceof ConfigError && e.key === 'CHAT_REDIS_URL', bad);
      assert.match(e.message, /^CHAT_REDIS_URL is malformed: expected redis:\/\//);
      assert.ok(!e.message.includes('hunter2'), 'the value is never echoed');
      return true;
    });
  }
});

test('jwt: HS256 round trip; tampering, wrong key, expiry, role', () => {
  const now = Math.floor(Date.now() / 1000);
  const t = sign({ role: 'admin', exp: now + 60 }, SECRET);
  assert.equal(verifyAdminToken(t, SECRET).role, 'admin');
  const [h, p, s] = t.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ role: 'admin', exp: now + 99999 })).toString('base64url')}.${s}`;
  assert.throws(() => verifyAdminToken(forged, SECRET), /invalid token signature/);
  assert.throws(() => verifyAdminToken(t, `${SECRET}x`), /invalid token signature/);
  assert.throws(() => verifyAdminToken(sign({ role: 'admin', exp: now - 10 }, SECRET), SECRET), /expired/);
  assert.throws(() => verifyAdminToken(sign({ role: 'agent', exp: now + 60 }, SECRET), SECRET), /role/);
  assert.throws(() => verifyAdminToken(`${h}.${p}`, SECRET), /malformed/);
});

test('rate limiter: fixed window per key', () => {
  let t = 0;
  const rl = new RateLimiter(2, { now: () => t });
  assert.equal(rl.take('a').ok, true);
  assert.equal(rl.take('a').ok, true);
  const third = rl.take('a');
  assert.equal(third.ok, false);
  assert.equal(third.retryAfterSec, 60);
  assert.equal(rl.take('b').ok, true);
  t = 60000;
  assert.equal(rl.take('a').ok, true);
  rl.stop();
});

test('client IP: proxy headers only from loopback', () => {
  const req = (peer, headers) => ({ socket: { remoteAddress: peer }, headers });
  assert.equal(clientIp(req('127.0.0.1', { 'x-real-ip': '203.0.113.1' })), '203.0.113.1');
  assert.equal(clientIp(req('::ffff:127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 203.0.113.2' })), '203.0.113.2');
  assert.equal(clientIp(req('198.51.100.5', { 'x-real-ip': '203.0.113.1' })), '198.51.100.5');
});

test('scripts/chat-client.js is self-contained and agrees with the server on .env and JWT', () => {
  const client = require('../scripts/chat-client');
  const text = '# c\nA=1\nexport B="two words"\nC=\'x#y\'\nD=val # note\nCHAT_ADMIN_JWT_SECRET="q\\"uoted-0123456789abcdef-0123456789"\n';
  assert.deepEqual(client.parseDotenv(text), parseDotenv(text));
  const secret = parseDotenv(text).CHAT_ADMIN_JWT_SECRET;
  assert.equal(verifyAdminToken(client.mintToken(secret), secret).role, 'admin');
  assert.throws(() => verifyAdminToken(client.mintToken(secret, true), secret), /expired/);
  const src = require('node:fs').readFileSync(require.resolve('../scripts/chat-client'), 'utf8');
  assert.doesNotMatch(src, /require\('\.\.\//, 'only socket.io-client and node: modules');
});
