// SPDX-License-Identifier: GPL-3.0-or-later
// Test helpers: the real server as a child process, a real PostgreSQL (from
// CHAT_TEST_DATABASE_URL, which tests/node/run provides), real Socket.IO clients.
'use strict';

const { spawn, fork } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const pg = require('pg');
const { sign } = require('../src/jwt');

const ROOT = path.resolve(__dirname, '..');
const SECRET = 'test-only-secret-0123456789abcdef-ABCDEFGH';
const VISITOR_ORIGIN = 'https://admin1167.com';
const ADMIN_ORIGIN = 'https://admin1167.net';

// CHAT_TEST_REDIS_URL: a throwaway redis-server from tests/node/run; empty when none is available
function redisUrl() {
  return process.env.CHAT_TEST_REDIS_URL || '';
}
const NO_REDIS = redisUrl() ? false : 'CHAT_TEST_REDIS_URL is not set: no redis-server here (tests/node/run starts one when it can)';

function databaseUrl() {
  const url = process.env.CHAT_TEST_DATABASE_URL;
  if (!url) throw new Error('CHAT_TEST_DATABASE_URL is not set: run tests/node/run (it starts a throwaway PostgreSQL)');
  return url;
}

function baseEnv(overrides = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CHAT_') || k === 'ADMIN_ALLOWED_ORIGINS') delete env[k];
  return {
    ...env,
    CHAT_SERVER_PORT: '0',
    CHAT_SERVER_HOST: '127.0.0.1',
    CHAT_DATABASE_URL: databaseUrl(),
    CHAT_ADMIN_JWT_SECRET: SECRET,
    CHAT_ALLOWED_ORIGINS: VISITOR_ORIGIN,
    ADMIN_ALLOWED_ORIGINS: ADMIN_ORIGIN,
    ...overrides,
  };
}

function tempCwd(files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-server-test-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

// start `node src/server.js`; resolves once WS_OK is logged (or the process exits). With ipc, the
// child is forked with an IPC channel (as PM2 does) and its messages are collected in `messages`.
function startServer(envOverrides = {}, { cwd, waitFor = 'WS_OK', timeoutMs = 15000, ipc = false } = {}) {
  const dir = cwd || tempCwd();
  const env = baseEnv();
  for (const [k, v] of Object.entries(envOverrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const script = path.join(ROOT, 'src', 'server.js');
  const proc = ipc
    ? fork(script, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    : spawn(process.execPath, [script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = { proc, stdout: '', stderr: '', port: null, exitCode: undefined, messages: [] };
  if (ipc) proc.on('message', (m) => server.messages.push(m));
  server.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    server.exitCode = code;
    server.signal = signal;
    resolve(code);
  }));
  proc.stdout.on('data', (d) => { server.stdout += d; });
  proc.stderr.on('data', (d) => { server.stderr += d; });
  server.url = () => `http://127.0.0.1:${server.port}`;
  server.stop = async (signal = 'SIGTERM') => {
    if (server.exitCode === undefined) proc.kill(signal);
    return server.exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not log ${waitFor} in ${timeoutMs} ms\nstdout:${server.stdout}\nstderr:${server.stderr}`));
    }, timeoutMs);
    const check = () => {
      const m = /SERVER_OK port=(\d+)/.exec(server.stdout);
      if (m) server.port = Number(m[1]);
      if (waitFor && server.stdout.includes(waitFor)) {
        clearTimeout(timer);
        resolve(server);
      }
    };
    proc.stdout.on('data', check);
    server.exited.then(() => {
      clearTimeout(timer);
      resolve(server);
    });
  });
}

function connect(server, socketPath, { origin, auth, transport = 'websocket', timeout = 5000 } = {}) {
  const socket = io(server.url(), {
    path: socketPath,
    transports: [transport],
    extraHeaders: origin ? { Origin: origin } : {},
    auth,
    reconnection: false,
    forceNew: true,
    timeout,
  });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, ok: true }));
    socket.once('connect_error', (err) => {
      socket.close();
      resolve({ socket, ok: false, error: err.message, data: err.data });
    });
  });
}

const visitor = (server, opts = {}) => connect(server, '/ws-visitor', { origin: VISITOR_ORIGIN, ...opts });
const adminToken = (overrides = {}, secret = SECRET) => sign({ sub: 'test', role: 'admin', exp: Math.floor(Date.now() / 1000) + 300, ...overrides }, secret);
const admin = (server, opts = {}) => connect(server, '/ws-admin', { origin: ADMIN_ORIGIN, auth: { token: adminToken() }, ...opts });

function nextEvent(socket, event, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeout} ms`)), timeout);
    socket.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

async function withDb(fn) {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// a TCP relay in front of PostgreSQL (or another server, by URL) that a test can cut and restore
async function dbRelay(targetUrl = databaseUrl()) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  let server = null;
  let port = 0;
  const listen = () => new Promise((resolve) => {
    server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      sockets.add(client);
      sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1', () => {
      port = server.address().port;
      resolve();
    });
  });
  await listen();
  const url = new URL(targetUrl);
  url.port = String(port);
  return {
    url: url.toString(),
    async cut() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
    },
    restore: listen,
  };
}

// resolves once fn() is truthy, polling every intervalMs; fails naming `what` after timeoutMs
async function until(what, fn, timeoutMs = 15000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

module.exports = {
  ROOT, SECRET, VISITOR_ORIGIN, ADMIN_ORIGIN, NO_REDIS,
  databaseUrl, redisUrl, baseEnv, tempCwd, startServer, connect, visitor, admin, adminToken, nextEvent, withDb, dbRelay, getJson, until,
};
