// SPDX-License-Identifier: GPL-3.0-or-later
// Optional cross-node delivery (CHAT_REDIS_URL): one publishing and one subscribing
// connection (the npm `redis` client) shared by the Socket.IO Redis adapters of
// both servers, each under its own key so their channels never mix. Loaded only
// when CHAT_REDIS_URL is set; without it there is no Redis code path at all.
'use strict';

const { createClient } = require('redis');
const { createAdapter } = require('@socket.io/redis-adapter');

// the adapter calls these and drops the promises; a rejection (Redis gone at
// shutdown) would otherwise end the process as an unhandled rejection
const GUARDED = ['publish', 'subscribe', 'pSubscribe', 'unsubscribe', 'pUnsubscribe'];

function createRedisLink(settings, { log, logError, healthTimeoutMs }) {
  const scrub = (text) => {
    let out = String(text).split('\n')[0];
    if (settings.password) out = out.split(settings.password).join('***');
    return out;
  };
  const pub = createClient({
    url: settings.url,
    socket: {
      connectTimeout: Math.max(healthTimeoutMs, 1000),
      // the client reconnects by itself: 100 ms, 200 ms, ... at most every 2 s
      reconnectStrategy: (retries) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
    },
  });
  const sub = pub.duplicate();
  const subscribed = [];
  let collecting = false;
  for (const client of [pub, sub]) {
    for (const name of GUARDED) {
      const original = client[name].bind(client);
      client[name] = (...args) => {
        const p = original(...args);
        if (p && typeof p.then === 'function') {
          p.catch((err) => logError(`REDIS_ERROR ${name}: ${scrub(err && err.message)}`));
          if (collecting) subscribed.push(p);
        }
        return p;
      };
    }
  }

  let armed = false; // REDIS_OK / REDIS_ERROR are logged once start() got past the database check
  let up = false;
  let everUp = false;
  let lastError = null;
  let closing = false;
  const connectWaiters = new Set(); // both connections ready (logged or not)
  const upWaiters = new Set(); // REDIS_OK logged

  function update() {
    const nowUp = pub.isReady && sub.isReady;
    if (nowUp) {
      for (const resolve of connectWaiters) resolve();
      connectWaiters.clear();
    }
    if (!armed || closing) return;
    if (nowUp && !up) {
      up = true;
      log(everUp ? 'REDIS_OK reconnected' : 'REDIS_OK');
      everUp = true;
      for (const resolve of upWaiters) resolve();
      upWaiters.clear();
    } else if (!nowUp && up) {
      up = false;
      logError(`REDIS_ERROR ${lastError ? scrub(lastError.message) : 'connection lost'} (reconnecting; /chat/health answers 503)`);
    }
  }
  for (const client of [pub, sub]) {
    client.on('error', (err) => {
      lastError = err;
      update();
    });
    client.on('ready', update);
    client.on('end', update);
    client.on('reconnecting', update);
  }

  // connect first (commands wait in the client's queue), then attach the adapters,
  // then the HTTP server may listen: no socket ever sees the in-memory adapter
  function attach(servers) {
    for (const client of [pub, sub]) {
      client.connect().catch((err) => {
        lastError = err;
        update();
      });
    }
    collecting = true;
    try {
      for (const [io, key] of servers) io.adapter(createAdapter(pub, sub, { key }));
    } finally {
      collecting = false;
    }
  }

  // after the database check: wait (bounded) for both connections and the first
  // subscriptions, so that REDIS_OK means messages cross nodes
  async function arm(timeoutMs) {
    const connected = new Promise((resolve) => {
      if (pub.isReady && sub.isReady) resolve();
      else connectWaiters.add(resolve);
    }).then(() => Promise.allSettled(subscribed));
    let timer;
    await Promise.race([connected, new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
    armed = true;
    update();
    if (!up) {
      logError(`REDIS_ERROR ${lastError ? scrub(lastError.message) : 'not connected yet'} (reconnecting; /chat/health answers 503)`);
    }
  }

  // resolves once REDIS_OK has been logged
  function whenUp() {
    if (up) return Promise.resolve();
    return new Promise((resolve) => upWaiters.add(resolve));
  }

  // health: both connections ready and a PING answered in time
  async function check() {
    if (!(pub.isReady && sub.isReady)) throw new Error('redis: not connected');
    let timer;
    try {
      await Promise.race([
        pub.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis: PING timed out after ${healthTimeoutMs} ms`)), healthTimeoutMs);
        }),
      ]);
    } catch (err) {
      throw new Error(scrub(err.message.startsWith('redis:') ? err.message : `redis: ${err.message}`));
    } finally {
      clearTimeout(timer);
    }
  }

  // a connected client says goodbye (QUIT); a reconnecting one is dropped at once
  async function close() {
    closing = true;
    await Promise.allSettled([pub, sub].map(async (client) => {
      if (!client.isOpen) return;
      if (!client.isReady) {
        client.destroy();
        return;
      }
      let timer;
      await Promise.race([
        client.close(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 1000);
        }),
      ]);
      clearTimeout(timer);
      if (client.isOpen) client.destroy();
    }));
  }

  return { attach, arm, whenUp, check, close, isUp: () => up };
}

module.exports = { createRedisLink };
