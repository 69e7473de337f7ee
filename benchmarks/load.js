// SPDX-License-Identifier: GPL-3.0-or-later
// Load generator of benchmarks/run: HTTP probes of GET /chat/health and connected Socket.IO visitors,
// both through the chat host's Nginx, both to the LOOPBACK only (the container's port 80 published on
// 127.0.0.1). Every connection resolves the site name to 127.0.0.1 through a custom lookup, so the Host
// header names the site while the traffic never leaves this machine.
//
//   node load.js --port 32768 [--host admin1167.com] [--origin https://admin1167.com] [--rate 25]
//                [--clients 20] [--transport websocket|polling] [--max-seconds 1200] [--settle-seconds 45]
//
// Protocol with the caller (benchmarks/bench.py): prints `READY` on stdout once every client is connected
// and probes flow; the caller runs its playbook and then writes `stop` on stdin (or closes it). The load
// then settles: probes go on while disconnected clients get the chance to reconnect (at most
// --settle-seconds), each connected client sends one visitor:message and waits for its ack, and ONE JSON
// document with the raw timeline is printed on stdout. Bounded: it stops by itself after --max-seconds,
// probes at most --rate per second with at most 4 * rate in flight, and runs at most --clients sockets.
'use strict';

const http = require('node:http');
const readline = require('node:readline');
const { io } = require('socket.io-client');

function parseArgs(argv) {
  const opts = {
    port: 0,
    host: 'admin1167.com',
    origin: 'https://admin1167.com',
    rate: 25,
    clients: 20,
    transport: 'websocket',
    maxSeconds: 1200,
    settleSeconds: 45,
    readySeconds: 60,
    probeTimeoutMs: 3000,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error('--port must be 1-65535');
  if (!(opts.rate >= 1 && opts.rate <= 200)) throw new Error('--rate must be 1-200');
  if (!(opts.clients >= 0 && opts.clients <= 500)) throw new Error('--clients must be 0-500');
  if (!(opts.maxSeconds >= 10 && opts.maxSeconds <= 3600)) throw new Error('--max-seconds must be 10-3600');
  if (!['websocket', 'polling'].includes(opts.transport)) throw new Error('--transport must be websocket or polling');
  return opts;
}

// Any name resolves to the loopback: the only address this tool ever connects to.
function loopbackLookup(hostname, options, cb) {
  if (options && options.all) return cb(null, [{ address: '127.0.0.1', family: 4 }]);
  return cb(null, '127.0.0.1', 4);
}

const now = () => Date.now();

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = now();
  const probeAgent = new http.Agent({ lookup: loopbackLookup, keepAlive: true, maxSockets: Math.ceil(opts.rate * 4) });
  const ioAgent = new http.Agent({ lookup: loopbackLookup, keepAlive: false });
  const url = `http://${opts.host}:${opts.port}`;

  // --- HTTP probes ---------------------------------------------------------------------------------
  const probes = []; // [sent ms, ms taken, status (0 = no answer), release or error]
  let inflight = 0;
  function probe() {
    const t0 = now();
    if (inflight >= opts.rate * 4) {
      probes.push([t0, 0, 0, 'client backlog']);
      return;
    }
    inflight += 1;
    let done = false;
    const finish = (status, info) => {
      if (done) return;
      done = true;
      inflight -= 1;
      probes.push([t0, now() - t0, status, info]);
    };
    const req = http.get({
      host: opts.host, port: opts.port, path: '/chat/health', agent: probeAgent, lookup: loopbackLookup,
      headers: { Host: opts.host, Accept: 'application/json' }, timeout: opts.probeTimeoutMs,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        // the release that answered; for a failure also what it said
        let info = '';
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          info = String(body.release || '');
          if (res.statusCode !== 200 && body.error) info = `${info} ${String(body.error).slice(0, 120)}`.trim();
        } catch {
          info = 'not json';
        }
        finish(res.statusCode, info);
      });
      res.on('error', (err) => finish(0, err.code || err.message));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => finish(0, err.code || err.message));
  }
  const probeTimer = setInterval(probe, 1000 / opts.rate);

  // --- Socket.IO visitors ----------------------------------------------------------------------------
  const clients = [];
  for (let i = 0; i < opts.clients; i += 1) {
    const c = { n: i, connects: 0, disconnects: [], gaps: [], connected: false, downSince: null, everConnected: false };
    c.socket = io(url, {
      path: '/ws-visitor',
      transports: [opts.transport],
      extraHeaders: { Origin: opts.origin },
      agent: ioAgent,
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      timeout: 5000,
    });
    c.socket.on('connect', () => {
      const t = now();
      if (c.downSince !== null) c.gaps.push([c.downSince, t - c.downSince]);
      c.downSince = null;
      c.connected = true;
      c.everConnected = true;
      c.connects += 1;
    });
    c.socket.on('disconnect', (reason) => {
      const t = now();
      c.connected = false;
      c.downSince = t;
      c.disconnects.push([t, String(reason)]);
    });
    clients.push(c);
  }

  const connectedCount = () => clients.filter((c) => c.connected).length;
  const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

  // Hard bound on the whole run, whatever the caller does.
  let stopReason = '';
  let stopResolve;
  const stopped = new Promise((r) => { stopResolve = r; });
  const hardTimer = setTimeout(() => { stopReason = 'max-seconds reached'; stopResolve(); }, opts.maxSeconds * 1000);
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'stop') { stopReason = stopReason || 'stop'; stopResolve(); }
  }).on('close', () => { stopReason = stopReason || 'stdin closed'; stopResolve(); });

  // Ready: every client connected and one second of probes answered.
  const readyDeadline = now() + opts.readySeconds * 1000;
  while (connectedCount() < opts.clients && now() < readyDeadline) await sleep(100);
  await sleep(1000);
  const readyAt = now();
  const readyConnected = connectedCount();
  process.stdout.write(`READY ${readyConnected}/${opts.clients}\n`);

  await stopped;
  const stopAt = now();
  // Settle: probes go on, clients may still reconnect.
  const settleDeadline = stopAt + opts.settleSeconds * 1000;
  while (connectedCount() < opts.clients && now() < settleDeadline && stopReason !== 'max-seconds reached') await sleep(100);
  await sleep(2000);
  clearInterval(probeTimer);
  clearTimeout(hardTimer);
  const settledAt = now();

  const settledConnected = clients.map((c) => c.connected);
  // Each connected visitor proves its socket works: one message, acknowledged (stored) by the server.
  const acks = await Promise.all(clients.map(async (c) => {
    if (!c.connected) return false;
    try {
      const ack = await c.socket.timeout(5000).emitWithAck('visitor:message', { text: `benchmark visitor ${c.n}` });
      return Boolean(ack && ack.ok);
    } catch {
      return false;
    }
  }));
  const deadline = now() + 5000;
  while (inflight > 0 && now() < deadline) await sleep(50);
  const connectedAtEnd = clients.map((c) => c.connected);
  for (const c of clients) {
    c.socket.off('disconnect');
    c.socket.disconnect();
  }

  const out = {
    options: { ...opts },
    started,
    ready_at: readyAt,
    ready_connected: readyConnected,
    stop_at: stopAt,
    stop_reason: stopReason,
    settled_at: settledAt,
    probes,
    clients: clients.map((c, i) => ({
      n: c.n,
      ever_connected: c.everConnected,
      connected_at_settle: settledConnected[i],
      connected_at_end: connectedAtEnd[i],
      down_since: c.downSince,
      connects: c.connects,
      disconnects: c.disconnects,
      gaps: c.gaps,
      message_acked_at_end: acks[i],
    })),
  };
  probeAgent.destroy();
  // exit only once the whole document is written (a pipe is written asynchronously)
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`load.js: ${err.message}\n`);
  process.exit(2);
});
