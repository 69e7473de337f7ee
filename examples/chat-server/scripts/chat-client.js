#!/usr/bin/env node
// SPDX-License-Identifier: GPL-3.0-or-later
// A command-line chat client built on the real socket.io-client, for checks
// run on the chat or web host (tests, the verify playbook, operators).
//
//   node scripts/chat-client.js roundtrip --url http://127.0.0.1:4000 \
//        --origin https://admin1167.com --admin-origin https://admin1167.net \
//        --env-file /opt/livechat/shared/.env [--transport websocket|polling] [--host-header X]
//   node scripts/chat-client.js visitor --url ... --origin ... [--expect refused]
//   node scripts/chat-client.js admin --url ... --admin-origin ... --env-file ... [--bad-secret|--expired] [--expect refused]
//
// The agent token is signed with CHAT_ADMIN_JWT_SECRET read from --env-file
// (never from the command line). Prints ONE JSON line; exit 0 when the outcome
// is the expected one, 1 otherwise, 2 on usage errors.
'use strict';

const fs = require('node:fs');
const crypto = require('node:crypto');
const dns = require('node:dns/promises');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { io } = require('socket.io-client');

// Self-contained on purpose (only socket.io-client is needed), so the file can be
// copied beside any chat-server and run there.

// KEY=value lines; quotes, `export `, comments (same rules as src/dotenv.js)
function parseDotenv(text) {
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.startsWith('"') || v.startsWith("'")) {
      const q = v[0];
      const end = v.lastIndexOf(q);
      v = end > 0 ? v.slice(1, end) : v.slice(1);
      if (q === '"') v = v.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      const hash = v.search(/\s#/);
      if (hash !== -1) v = v.slice(0, hash);
      v = v.trim();
    }
    out[m[1]] = v;
  }
  return out;
}

// JWT HS256
function sign(payload, secret) {
  const enc = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const data = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ iat: Math.floor(Date.now() / 1000), ...payload })}`;
  return `${data}.${crypto.createHmac('sha256', secret).update(data).digest('base64url')}`;
}

const USAGE = 'usage: chat-client.js roundtrip|visitor|admin --url URL [--origin O] [--admin-origin O] [--env-file F] '
  + '[--secret-key NAME] [--transport websocket|polling] [--host-header H] [--timeout MS] [--insecure] '
  + '[--bad-secret] [--expired] [--expect connected|refused] [--text T]';

const FLAGS = new Set(['--insecure', '--bad-secret', '--expired']);

function parseArgs(argv) {
  const [mode, ...rest] = argv;
  if (!['roundtrip', 'visitor', 'admin'].includes(mode)) throw new Error(USAGE);
  const opts = {
    mode, transport: 'websocket', timeout: 10000, secretKey: 'CHAT_ADMIN_JWT_SECRET', expect: 'connected',
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (FLAGS.has(a)) {
      opts[a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = true;
      continue;
    }
    if (!a.startsWith('--') || i + 1 >= rest.length) throw new Error(`bad argument ${a}\n${USAGE}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    opts[key] = rest[++i];
  }
  if (!opts.url) throw new Error(`--url is required\n${USAGE}`);
  opts.timeout = Number(opts.timeout);
  if (!['websocket', 'polling'].includes(opts.transport)) throw new Error('--transport must be websocket or polling');
  if (!['connected', 'refused'].includes(opts.expect)) throw new Error('--expect must be connected or refused');
  if (mode !== 'admin' && !opts.origin) throw new Error(`--origin is required for ${mode}`);
  if (mode !== 'visitor' && !opts.adminOrigin) throw new Error(`--admin-origin is required for ${mode}`);
  if (mode !== 'visitor' && !opts.envFile && !opts.badSecret) throw new Error(`--env-file is required for ${mode}`);
  return opts;
}

function readSecret(opts) {
  if (opts.badSecret) return crypto.randomBytes(32).toString('hex');
  const parsed = parseDotenv(fs.readFileSync(opts.envFile, 'utf8'));
  const secret = parsed[opts.secretKey];
  if (!secret) throw new Error(`${opts.secretKey} is not set in ${opts.envFile}`);
  return secret;
}

function mintToken(secret, expired) {
  const exp = Math.floor(Date.now() / 1000) + (expired ? -300 : 300);
  return sign({ sub: 'chat-client', role: 'admin', exp }, secret);
}

// --host-header: the client talks to --url's address but names the site in Host
// (and TLS SNI), as a browser would through DNS. Done with an agent whose lookup
// returns --url's address for any name, so it works for websocket and polling
// alike (the polling transport may not set a Host header itself).
async function target(opts) {
  const base = new URL(opts.url);
  if (!opts.hostHeader) return { url: base.origin, agent: undefined };
  const bare = base.hostname.replace(/^\[|\]$/g, '');
  const { address, family } = await dns.lookup(bare);
  const lookup = (hostname, options, cb) => (options && options.all ? cb(null, [{ address, family }]) : cb(null, address, family));
  const agent = new (base.protocol === 'https:' ? https : http).Agent({ lookup, keepAlive: false, rejectUnauthorized: !opts.insecure });
  const url = new URL(base.origin);
  url.hostname = opts.hostHeader;
  return { url: url.origin, agent };
}

async function connect(opts, socketPath, origin, auth) {
  const { url, agent } = await target(opts);
  const started = Date.now();
  const socket = io(url, {
    path: socketPath,
    transports: [opts.transport],
    extraHeaders: { Origin: origin },
    agent,
    auth,
    reconnection: false,
    timeout: opts.timeout,
    forceNew: true,
    rejectUnauthorized: !opts.insecure,
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${opts.timeout} ms` }), opts.timeout);
    function finish(result) {
      clearTimeout(timer);
      socket.off('connect');
      socket.off('connect_error');
      resolve({ socket, result: { ...result, ms: Date.now() - started } });
    }
    socket.on('connect', () => finish({ ok: true, id: socket.id }));
    socket.on('connect_error', (err) => {
      const reason = err && err.message ? err.message : String(err);
      const detail = err && err.description && err.description.message ? `: ${err.description.message}` : '';
      finish({ ok: false, error: `${reason}${detail}`, data: (err && err.data) || undefined });
    });
  });
}

function waitFor(socket, event, predicate, timeout) {
  return new Promise((resolve) => {
    const started = Date.now();
    const timer = setTimeout(() => {
      socket.off(event, handler);
      resolve({ ok: false, error: `no ${event} within ${timeout} ms`, ms: Date.now() - started });
    }, timeout);
    function handler(payload) {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve({ ok: true, payload, ms: Date.now() - started });
    }
    socket.on(event, handler);
  });
}

function emitWithAck(socket, event, payload, timeout) {
  const started = Date.now();
  return socket.timeout(timeout).emitWithAck(event, payload).then(
    (ack) => ({ ok: Boolean(ack && ack.ok), ack, ms: Date.now() - started, ...(ack && ack.ok ? {} : { error: (ack && ack.error) || 'negative ack' }) }),
    (err) => ({ ok: false, error: `no ack for ${event} within ${timeout} ms (${err.message})`, ms: Date.now() - started }),
  );
}

async function roundtrip(opts) {
  const steps = {};
  const out = { mode: 'roundtrip', ok: false, url: opts.url, transport: opts.transport, steps };
  const sockets = [];
  const fail = (step) => {
    out.failed_step = step;
    out.error = steps[step].error;
    return out;
  };
  try {
    const token = mintToken(readSecret(opts), opts.expired);
    const admin = await connect(opts, '/ws-admin', opts.adminOrigin, { token });
    sockets.push(admin.socket);
    steps.admin_connect = admin.result;
    if (!admin.result.ok) return fail('admin_connect');

    const visitor = await connect(opts, '/ws-visitor', opts.origin, {});
    sockets.push(visitor.socket);
    steps.visitor_connect = visitor.result;
    if (!visitor.result.ok) return fail('visitor_connect');

    const nonce = crypto.randomBytes(6).toString('hex');
    const text = opts.text || `chat-client roundtrip ${nonce}`;
    const agentGot = waitFor(admin.socket, 'visitor:message', (p) => p && p.text === text, opts.timeout);
    const sent = await emitWithAck(visitor.socket, 'visitor:message', { text }, opts.timeout);
    steps.visitor_message = { ok: sent.ok, ms: sent.ms, ...(sent.ok ? { id: sent.ack.id, conversationId: sent.ack.conversationId } : { error: sent.error }) };
    if (!sent.ok) return fail('visitor_message');
    out.conversationId = sent.ack.conversationId;

    const got = await agentGot;
    steps.agent_received = { ok: got.ok && got.payload.id === sent.ack.id && got.payload.conversationId === sent.ack.conversationId, ms: got.ms };
    if (!steps.agent_received.ok) {
      steps.agent_received.error = got.error || 'agent got a different message id or conversation';
      return fail('agent_received');
    }

    const replyText = `chat-client reply ${nonce}`;
    const visitorGot = waitFor(visitor.socket, 'admin:reply', (p) => p && p.text === replyText, opts.timeout);
    const replied = await emitWithAck(admin.socket, 'admin:reply', { conversationId: sent.ack.conversationId, text: replyText }, opts.timeout);
    steps.admin_reply = { ok: replied.ok, ms: replied.ms, ...(replied.ok ? { id: replied.ack.id } : { error: replied.error }) };
    if (!replied.ok) return fail('admin_reply');

    const back = await visitorGot;
    steps.visitor_received = { ok: back.ok && back.payload.id === replied.ack.id, ms: back.ms };
    if (!steps.visitor_received.ok) {
      steps.visitor_received.error = back.error || 'visitor got a different reply id';
      return fail('visitor_received');
    }
    out.ok = true;
    return out;
  } finally {
    for (const s of sockets) s.disconnect();
  }
}

async function single(opts) {
  const isAdmin = opts.mode === 'admin';
  const auth = isAdmin ? { token: mintToken(readSecret(opts), opts.expired) } : {};
  const { socket, result } = await connect(opts, isAdmin ? '/ws-admin' : '/ws-visitor', isAdmin ? opts.adminOrigin : opts.origin, auth);
  socket.disconnect();
  const outcome = result.ok ? 'connected' : 'refused';
  return {
    mode: opts.mode,
    ok: outcome === opts.expect,
    result: outcome,
    expect: opts.expect,
    url: opts.url,
    transport: opts.transport,
    ms: result.ms,
    ...(result.ok ? {} : { reason: result.error }),
  };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  let out;
  try {
    out = opts.mode === 'roundtrip' ? await roundtrip(opts) : await single(opts);
  } catch (err) {
    out = { mode: opts.mode, ok: false, error: String(err.message).split('\n')[0] };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return out.ok ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code));
}

module.exports = { parseArgs, parseDotenv, mintToken, path: path.resolve(__filename) };
