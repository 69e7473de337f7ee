// SPDX-License-Identifier: GPL-3.0-or-later
// Load during a release switch, run INSIDE the test container against the LOOPBACK only:
// GET /chat/health at --rate per second on fresh connections (as Nginx opens them) and --clients
// Socket.IO visitors (default transports: polling, then the WebSocket upgrade).
//
//   node switch_load.js --port=4000 --rate=25 --clients=20 --stop-file=/root/switch-load.stop --max-seconds=600
//
// Prints `READY <connected>/<clients>` once every visitor is connected; runs until --stop-file exists
// (or --max-seconds, whatever happens); then lets disconnected visitors reconnect (at most
// --settle-seconds), has each connected visitor send one message and wait for its ack, and prints ONE
// JSON line with the counts. Bounded: at most --rate probes a second, at most --clients sockets.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const opts = { port: 4000, rate: 25, clients: 20, stopFile: '', maxSeconds: 600, settleSeconds: 30, origin: 'https://admin1167.com',
  client: '/opt/livechat/current/node_modules/socket.io-client' };
for (const arg of process.argv.slice(2)) {
  const [k, v] = arg.replace(/^--/, '').split('=');
  const key = k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (!(key in opts)) throw new Error(`unknown option ${arg}`);
  opts[key] = typeof opts[key] === 'number' ? Number(v) : v;
}
opts.rate = Math.min(Math.max(opts.rate, 1), 100);
opts.clients = Math.min(Math.max(opts.clients, 0), 100);
opts.maxSeconds = Math.min(opts.maxSeconds, 1800);
// socket.io-client from the release under test (its devDependencies are installed)
const { io } = require(path.resolve(opts.client));

const agent = new http.Agent({ keepAlive: false, maxSockets: 4 * opts.rate });
const probes = { sent: 0, ok: 0, failed: 0, errors: {}, releases: {} };
let inflight = 0;
function probe() {
  if (inflight >= 4 * opts.rate) {
    probes.sent += 1;
    probes.failed += 1;
    probes.errors.backlog = (probes.errors.backlog || 0) + 1;
    return;
  }
  probes.sent += 1;
  inflight += 1;
  let done = false;
  const finish = (ok, what) => {
    if (done) return;
    done = true;
    inflight -= 1;
    if (ok) {
      probes.ok += 1;
      probes.releases[what] = (probes.releases[what] || 0) + 1;
    } else {
      probes.failed += 1;
      probes.errors[what] = (probes.errors[what] || 0) + 1;
    }
  };
  const req = http.get({ host: '127.0.0.1', port: opts.port, path: '/chat/health', agent, timeout: 5000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => {
      let release = '?';
      try { release = String(JSON.parse(body).release); } catch { /* not JSON */ }
      finish(res.statusCode === 200, res.statusCode === 200 ? release : `HTTP ${res.statusCode}`);
    });
    res.on('error', (err) => finish(false, err.code || err.message));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (err) => finish(false, err.code || err.message));
}

const clients = [];
for (let i = 0; i < opts.clients; i += 1) {
  const c = { connected: false, connects: 0, disconnects: [], down: 0, longestGapMs: 0 };
  c.socket = io(`http://127.0.0.1:${opts.port}`, {
    path: '/ws-visitor', extraHeaders: { Origin: opts.origin }, forceNew: true,
    reconnectionDelay: 500, reconnectionDelayMax: 2000, timeout: 5000,
  });
  c.socket.on('connect', () => {
    if (c.down) c.longestGapMs = Math.max(c.longestGapMs, Date.now() - c.down);
    c.down = 0;
    c.connected = true;
    c.connects += 1;
  });
  c.socket.on('disconnect', (reason) => {
    c.connected = false;
    c.down = Date.now();
    c.disconnects.push(reason);
  });
  clients.push(c);
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const connected = () => clients.filter((c) => c.connected).length;

async function main() {
  const started = Date.now();
  const hardStop = started + opts.maxSeconds * 1000;
  const timer = setInterval(probe, 1000 / opts.rate);
  while (connected() < opts.clients && Date.now() < started + 60000) await sleep(100);
  process.stdout.write(`READY ${connected()}/${opts.clients}\n`);
  while (!(opts.stopFile && fs.existsSync(opts.stopFile)) && Date.now() < hardStop) await sleep(200);
  const settle = Date.now() + opts.settleSeconds * 1000;
  while (connected() < opts.clients && Date.now() < settle) await sleep(100);
  await sleep(1000);
  clearInterval(timer);
  const acks = await Promise.all(clients.map(async (c) => {
    if (!c.connected) return false;
    try {
      const ack = await c.socket.timeout(5000).emitWithAck('visitor:message', { text: 'release switch under load' });
      return Boolean(ack && ack.ok);
    } catch {
      return false;
    }
  }));
  const deadline = Date.now() + 6000;
  while (inflight > 0 && Date.now() < deadline) await sleep(50);
  const reasons = {};
  for (const c of clients) for (const r of c.disconnects) reasons[r] = (reasons[r] || 0) + 1;
  process.stdout.write(`${JSON.stringify({
    seconds: Math.round((Date.now() - started) / 1000),
    stopped_by: Date.now() >= hardStop ? 'max-seconds' : 'stop-file',
    probes,
    clients: opts.clients,
    clients_disconnected: clients.filter((c) => c.disconnects.length > 0).length,
    disconnect_reasons: reasons,
    clients_connected_at_end: connected(),
    clients_acked_at_end: acks.filter(Boolean).length,
    longest_reconnect_ms: Math.max(0, ...clients.map((c) => c.longestGapMs)),
  })}\n`);
  for (const c of clients) c.socket.close();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`switch_load.js: ${err.message}\n`);
  process.exit(2);
});
