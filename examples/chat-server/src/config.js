// SPDX-License-Identifier: GPL-3.0-or-later
// Reads and checks the chat-server's settings. Every problem is reported as
// one ConfigError naming the key (never its value).
'use strict';

class ConfigError extends Error {
  constructor(key, problem) {
    super(`${key} ${problem}`);
    this.key = key;
  }
}

const MIN_SECRET_LENGTH = 32;
const PLACEHOLDER = /^(change[-_ ]?me|changeme|secret|xxx+|todo|replace[-_ ]?me)$/i;

function required(env, key) {
  const v = env[key];
  if (v === undefined || String(v).trim() === '') throw new ConfigError(key, 'is missing (set it in .env, see .env.example)');
  return String(v).trim();
}

function intKey(env, key, fallback, { min, max }) {
  const raw = env[key];
  if (raw === undefined || String(raw).trim() === '') return fallback;
  const s = String(raw).trim();
  if (!/^\d+$/.test(s)) throw new ConfigError(key, `is malformed: expected a whole number between ${min} and ${max}`);
  const n = Number(s);
  if (n < min || n > max) throw new ConfigError(key, `is malformed: expected a whole number between ${min} and ${max}`);
  return n;
}

// "https://a.example, https://b.example:8443" -> normalised origins
function parseOrigins(env, key) {
  const raw = required(env, key);
  const origins = [];
  for (const part of raw.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    let url;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError(key, `is malformed: ${JSON.stringify(item)} is not an origin like https://example.com`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
      throw new ConfigError(key, `is malformed: ${JSON.stringify(item)} is not an origin like https://example.com (scheme://host[:port], no path)`);
    }
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  if (origins.length === 0) throw new ConfigError(key, 'is missing (set it in .env, see .env.example)');
  return origins;
}

function parseDatabaseUrl(env, key) {
  const raw = required(env, key);
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(key, 'is malformed: expected postgresql://user:password@host:5432/database');
  }
  if (!['postgres:', 'postgresql:'].includes(url.protocol) || !url.hostname && !url.searchParams.get('host')) {
    throw new ConfigError(key, 'is malformed: expected postgresql://user:password@host:5432/database');
  }
  const schema = url.searchParams.get('schema') || undefined;
  return { url: raw, schema };
}

// optional: the Socket.IO Redis adapter (several chat hosts); unset or empty = no Redis at all
function parseRedisUrl(env, key) {
  const v = env[key];
  if (v === undefined || String(v).trim() === '') return null;
  const raw = String(v).trim();
  const expected = 'is malformed: expected redis://[:password@]host:6379[/db] or rediss://[:password@]host:6379[/db]';
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(key, expected);
  }
  if (!['redis:', 'rediss:'].includes(url.protocol) || !url.hostname || url.search || url.hash
      || !/^(\/\d*)?$/.test(url.pathname)) {
    throw new ConfigError(key, expected);
  }
  // kept to scrub it from any error message the client might print
  let password = '';
  try {
    password = decodeURIComponent(url.password);
  } catch {
    throw new ConfigError(key, `${expected} (percent-encode the password)`);
  }
  return { url: raw, password };
}

function parseSecret(env, key) {
  const v = env[key];
  if (v === undefined || v === '') throw new ConfigError(key, 'is missing (set it in .env, see .env.example)');
  if (v !== v.trim()) throw new ConfigError(key, 'is malformed: it has leading or trailing whitespace');
  if (v.length < MIN_SECRET_LENGTH) throw new ConfigError(key, `is malformed: it must be at least ${MIN_SECRET_LENGTH} characters`);
  if (PLACEHOLDER.test(v)) throw new ConfigError(key, 'is malformed: it is a placeholder');
  return v;
}

function loadConfig(env = process.env) {
  return {
    port: intKey(env, 'CHAT_SERVER_PORT', 4000, { min: 0, max: 65535 }),
    host: env.CHAT_SERVER_HOST && env.CHAT_SERVER_HOST.trim() ? env.CHAT_SERVER_HOST.trim() : '0.0.0.0',
    database: parseDatabaseUrl(env, 'CHAT_DATABASE_URL'),
    jwtSecret: parseSecret(env, 'CHAT_ADMIN_JWT_SECRET'),
    allowedOrigins: parseOrigins(env, 'CHAT_ALLOWED_ORIGINS'),
    adminAllowedOrigins: parseOrigins(env, 'ADMIN_ALLOWED_ORIGINS'),
    restRatePerMin: intKey(env, 'CHAT_REST_RATE_PER_MIN', 120, { min: 1, max: 1000000 }),
    wsRatePerMin: intKey(env, 'CHAT_WS_RATE_PER_MIN', 60, { min: 1, max: 1000000 }),
    healthTimeoutMs: intKey(env, 'CHAT_HEALTH_TIMEOUT_MS', 2000, { min: 100, max: 60000 }),
    shutdownTimeoutMs: intKey(env, 'CHAT_SHUTDOWN_TIMEOUT_MS', 10000, { min: 0, max: 600000 }),
    redis: parseRedisUrl(env, 'CHAT_REDIS_URL'),
    releaseId: env.CHAT_RELEASE_ID && env.CHAT_RELEASE_ID.trim() ? env.CHAT_RELEASE_ID.trim() : null,
  };
}

module.exports = { loadConfig, ConfigError, MIN_SECRET_LENGTH };
