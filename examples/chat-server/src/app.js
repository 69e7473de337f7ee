// SPDX-License-Identifier: GPL-3.0-or-later
// The chat-server: HTTP (/chat/*), Socket.IO for visitors (/ws-visitor) and
// agents (/ws-admin), messages stored with Prisma before they are acknowledged.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { verifyAdminToken, TokenError } = require('./jwt');
const { RateLimiter, clientIp } = require('./ratelimit');

const VISITOR_PATH = '/ws-visitor';
const ADMIN_PATH = '/ws-admin';
const MAX_TEXT = 4000;
// Redis adapter keys (channel prefixes), one per Socket.IO server
const REDIS_KEY_VISITOR = 'livechat#visitor';
const REDIS_KEY_ADMIN = 'livechat#admin';

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

function createPrisma(config) {
  let PrismaClient;
  try {
    ({ PrismaClient } = require('@prisma/client'));
    // a client that was never generated throws on construction
  } catch (err) {
    throw new Error(`the Prisma client is missing: run npm ci and npm run prisma:generate (${String(err.message).split('\n')[0]})`);
  }
  const { PrismaPg } = require('@prisma/adapter-pg');
  const adapter = new PrismaPg(
    {
      connectionString: config.database.url,
      connectionTimeoutMillis: Math.min(config.healthTimeoutMs, 5000),
      idleTimeoutMillis: 30000,
      max: 10,
    },
    config.database.schema ? { schema: config.database.schema } : undefined,
  );
  try {
    return new PrismaClient({ adapter });
  } catch (err) {
    throw new Error(`the Prisma client is not usable: run npm run prisma:generate (${String(err.message).split('\n')[0]})`);
  }
}

function cleanText(value) {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '' || text.length > MAX_TEXT) return null;
  return text;
}

function createChatServer(config, { log = console.log, logError = console.error, prisma } = {}) {
  const db = prisma || createPrisma(config);
  const startedAt = Date.now();
  const restLimiter = new RateLimiter(config.restRatePerMin);
  const wsLimiter = new RateLimiter(config.wsRatePerMin);
  const inflight = new Set();
  let shuttingDown = false;
  let dbReady = false;
  let dbReadyResolve;
  const dbReadyPromise = new Promise((resolve) => { dbReadyResolve = resolve; });
  // DB_OK is logged once, by whichever query first proves the database answers (a health probe may
  // arrive before the start-up check).
  function markDbReady() {
    if (!dbReady) log('DB_OK');
    dbReady = true;
    dbReadyResolve();
  }

  // every write that must not be lost goes through here, so shutdown can wait for it
  function track(promise) {
    inflight.add(promise);
    promise.finally(() => inflight.delete(promise)).catch(() => {});
    return promise;
  }

  async function dbPing() {
    await withTimeout(db.$queryRaw`SELECT 1`, config.healthTimeoutMs, 'database query');
  }

  function sendJson(res, status, body, headers = {}) {
    const data = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(data),
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(res.req && res.req.method === 'HEAD' ? undefined : data);
  }

  function bearer(req) {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return null;
    return h.slice(7).trim();
  }

  async function handleHttp(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const { pathname } = url;
    if (pathname === '/chat/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      const base = { release: config.releaseId, uptime: Math.round((Date.now() - startedAt) / 1000) };
      const [dbCheck, redisCheck] = await Promise.allSettled([dbPing(), redis ? redis.check() : Promise.resolve()]);
      const parts = { db: dbCheck.status === 'fulfilled' ? 'ok' : 'down' };
      if (redis) parts.redis = redisCheck.status === 'fulfilled' ? 'ok' : 'down';
      if (dbCheck.status === 'fulfilled') markDbReady();
      if (dbCheck.status === 'fulfilled' && redisCheck.status === 'fulfilled') return sendJson(res, 200, { status: 'ok', ...parts, ...base });
      // reason: the first part that is down; error: what it said
      const failed = dbCheck.status === 'rejected' ? ['database', dbCheck.reason] : ['redis', redisCheck.reason];
      return sendJson(res, 503, {
        status: 'error', ...parts, reason: failed[0], error: String(failed[1] && failed[1].message).split('\n')[0], ...base,
      });
    }
    if (!pathname.startsWith('/chat/')) return sendJson(res, 404, { error: 'not found' });

    const limit = restLimiter.take(clientIp(req));
    if (!limit.ok) {
      return sendJson(res, 429, { error: 'rate limited' }, { 'Retry-After': String(limit.retryAfterSec) });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });

    // agent REST API (Bearer JWT, same tokens as /ws-admin)
    let m;
    if (pathname === '/chat/conversations' || (m = /^\/chat\/conversations\/([^/]+)\/messages$/.exec(pathname))) {
      try {
        verifyAdminToken(bearer(req), config.jwtSecret);
      } catch (err) {
        return sendJson(res, 401, { error: `unauthorized: ${err.message}` });
      }
      const take = Math.min(Math.max(Number(url.searchParams.get('limit')) || 50, 1), 200);
      try {
        if (!m) {
          const rows = await db.conversation.findMany({ orderBy: { createdAt: 'desc' }, take });
          return sendJson(res, 200, { conversations: rows });
        }
        const rows = await db.message.findMany({ where: { conversationId: m[1] }, orderBy: { createdAt: 'asc' }, take });
        return sendJson(res, 200, { messages: rows });
      } catch (err) {
        logError(`HTTP_ERROR ${pathname}: ${String(err.message).split('\n')[0]}`);
        return sendJson(res, 503, { error: 'database unavailable' });
      }
    }
    return sendJson(res, 404, { error: 'not found' });
  }

  const httpServer = http.createServer((req, res) => {
    handleHttp(req, res).catch((err) => {
      logError(`HTTP_ERROR ${String(err && err.message).split('\n')[0]}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
  });
  httpServer.keepAliveTimeout = 5000;

  const ioOptions = (allowed, serveClient = false) => ({
    serveClient,
    transports: ['websocket', 'polling'],
    destroyUpgrade: false,
    maxHttpBufferSize: 64 * 1024,
    pingInterval: 20000,
    pingTimeout: 20000,
    cors: { origin: (origin, cb) => cb(null, !origin || allowed.includes(origin)), credentials: true },
  });
  // the visitors' path also serves the browser client (/ws-visitor/socket.io.min.js, the socket.io-client
  // build shipped in the socket.io package), so a site's page loads it through the location it proxies anyway
  const visitorIo = new Server(httpServer, { path: VISITOR_PATH, ...ioOptions(config.allowedOrigins, true) });
  const adminIo = new Server(httpServer, { path: ADMIN_PATH, ...ioOptions(config.adminAllowedOrigins) });

  // several chat hosts: the Socket.IO Redis adapter carries broadcasts (visitor:message to every
  // agent, admin:reply to the conversation's room) to the other hosts. Each server has its own key,
  // so the two servers' channels never mix. Not loaded at all without CHAT_REDIS_URL.
  const redis = config.redis
    ? require('./redis').createRedisLink(config.redis, { log, logError, healthTimeoutMs: config.healthTimeoutMs })
    : null;

  // upgrades for neither path are closed here (destroyUpgrade is off for both
  // engines so that each ignores the other's path)
  httpServer.on('upgrade', (req, socket) => {
    const p = (req.url || '').split('?')[0];
    if (!p.startsWith(`${VISITOR_PATH}/`) && !p.startsWith(`${ADMIN_PATH}/`)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    }
  });

  function originGate(allowed, key) {
    return (socket, next) => {
      if (shuttingDown) return next(new Error('server shutting down'));
      const origin = socket.handshake.headers.origin;
      if (!origin || !allowed.includes(origin)) {
        const err = new Error(`origin refused: ${origin || '(none)'} is not in ${key}`);
        err.data = { reason: 'origin', origin: origin || null, key };
        return next(err);
      }
      return next();
    };
  }

  const ipOf = (socket) => clientIp(socket.request);

  // visitors ---------------------------------------------------------------
  visitorIo.use(originGate(config.allowedOrigins, 'CHAT_ALLOWED_ORIGINS'));
  visitorIo.use(async (socket, next) => {
    // a visitor may resume its conversation after a reconnect
    const wanted = socket.handshake.auth && socket.handshake.auth.conversationId;
    socket.data.conversationId = null;
    if (typeof wanted === 'string' && wanted.length <= 64) {
      try {
        const conv = await db.conversation.findUnique({ where: { id: wanted } });
        if (conv) socket.data.conversationId = conv.id;
      } catch {
        // database down: start a new conversation on the first message
      }
    }
    next();
  });
  visitorIo.on('connection', (socket) => {
    if (socket.data.conversationId) socket.join(`conv:${socket.data.conversationId}`);
    socket.emit('visitor:ready', { conversationId: socket.data.conversationId });

    socket.on('visitor:message', (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      if (shuttingDown) return reply({ ok: false, error: 'server shutting down' });
      const text = cleanText(payload && payload.text);
      if (text === null) return reply({ ok: false, error: `text must be a non-empty string of at most ${MAX_TEXT} characters` });
      if (!wsLimiter.take(ipOf(socket)).ok) return reply({ ok: false, error: 'rate limited' });
      const work = (async () => {
        const now = new Date();
        let message;
        if (socket.data.conversationId) {
          [message] = await db.$transaction([
            db.message.create({ data: { conversationId: socket.data.conversationId, text, sender: 'VISITOR', createdAt: now } }),
            db.conversation.update({ where: { id: socket.data.conversationId }, data: { lastMessageAt: now } }),
          ]);
        } else {
          const conv = await db.conversation.create({
            data: {
              visitorOrigin: socket.handshake.headers.origin || null,
              lastMessageAt: now,
              messages: { create: { text, sender: 'VISITOR', createdAt: now } },
            },
            include: { messages: true },
          });
          [message] = conv.messages;
          socket.data.conversationId = conv.id;
          socket.join(`conv:${conv.id}`);
        }
        return message;
      })();
      track(work).then(
        (message) => {
          reply({ ok: true, id: message.id, conversationId: message.conversationId });
          adminIo.emit('visitor:message', { id: message.id, conversationId: message.conversationId, text: message.text });
        },
        (err) => {
          logError(`STORE_ERROR visitor:message: ${String(err.message).split('\n')[0]}`);
          reply({ ok: false, error: 'could not store the message' });
        },
      );
      return undefined;
    });
  });

  // agents -------------------------------------------------------------------
  adminIo.use(originGate(config.adminAllowedOrigins, 'ADMIN_ALLOWED_ORIGINS'));
  adminIo.use((socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    try {
      socket.data.agent = verifyAdminToken(token, config.jwtSecret);
      return next();
    } catch (err) {
      const e = new Error(`unauthorized: ${err instanceof TokenError ? err.message : 'invalid token'}`);
      e.data = { reason: 'token', detail: err.message };
      return next(e);
    }
  });
  adminIo.on('connection', (socket) => {
    // the token's exp also ends the connection
    const ms = socket.data.agent.exp * 1000 - Date.now();
    const timer = setTimeout(() => socket.disconnect(true), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    timer.unref();
    socket.on('disconnect', () => clearTimeout(timer));

    socket.on('admin:reply', (payload, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      if (shuttingDown) return reply({ ok: false, error: 'server shutting down' });
      const text = cleanText(payload && payload.text);
      const conversationId = payload && typeof payload.conversationId === 'string' ? payload.conversationId : null;
      if (!conversationId) return reply({ ok: false, error: 'conversationId is required' });
      if (text === null) return reply({ ok: false, error: `text must be a non-empty string of at most ${MAX_TEXT} characters` });
      if (!wsLimiter.take(ipOf(socket)).ok) return reply({ ok: false, error: 'rate limited' });
      const work = (async () => {
        const conv = await db.conversation.findUnique({ where: { id: conversationId } });
        if (!conv) return null;
        const now = new Date();
        const [message] = await db.$transaction([
          db.message.create({ data: { conversationId, text, sender: 'AGENT', createdAt: now } }),
          db.conversation.update({ where: { id: conversationId }, data: { lastMessageAt: now } }),
        ]);
        return message;
      })();
      track(work).then(
        (message) => {
          if (!message) return reply({ ok: false, error: 'unknown conversation' });
          reply({ ok: true, id: message.id, conversationId });
          visitorIo.to(`conv:${conversationId}`).emit('admin:reply', { id: message.id, text: message.text });
          return undefined;
        },
        (err) => {
          logError(`STORE_ERROR admin:reply: ${String(err.message).split('\n')[0]}`);
          reply({ ok: false, error: 'could not store the message' });
        },
      );
      return undefined;
    });
  });

  // lifecycle ------------------------------------------------------------------
  let dbRetry = null;

  async function checkDatabase() {
    try {
      await dbPing();
      markDbReady();
      return true;
    } catch (err) {
      logError(`DB_ERROR ${String(err.message).split('\n')[0]} (retrying every 5 s; /chat/health answers 503)`);
      return false;
    }
  }

  // `ready` resolves once the server listens (WS_OK) and DB_OK (and REDIS_OK with CHAT_REDIS_URL)
  // were logged: the process may take traffic (server.js tells PM2, for wait_ready)
  let started;
  const listening = new Promise((resolve) => { started = resolve; });
  const ready = Promise.all([listening, dbReadyPromise, redis ? redis.whenUp() : null]).then(() => undefined);

  async function start() {
    if (redis) {
      redis.attach([[visitorIo, REDIS_KEY_VISITOR], [adminIo, REDIS_KEY_ADMIN]]);
    }
    await new Promise((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
    const { port } = httpServer.address();
    log(`SERVER_OK port=${port}`);
    if (!(await checkDatabase())) {
      dbRetry = setInterval(async () => {
        if (await checkDatabase()) {
          clearInterval(dbRetry);
          dbRetry = null;
        }
      }, 5000);
    }
    if (redis) await redis.arm(config.healthTimeoutMs);
    log(`WS_OK visitor=${VISITOR_PATH} admin=${ADMIN_PATH}`);
    started();
    return port;
  }

  // stop taking new work, finish what was received, then close everything
  async function stop(reason = 'stop') {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`SHUTDOWN ${reason}: draining ${inflight.size} pending write(s)`);
    if (dbRetry) clearInterval(dbRetry);
    const closed = new Promise((resolve) => httpServer.close(() => resolve()));
    const deadline = Date.now() + config.shutdownTimeoutMs;
    while (inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 100))]);
    }
    if (inflight.size > 0) logError(`SHUTDOWN ${inflight.size} write(s) still pending after ${config.shutdownTimeoutMs} ms`);
    // let the acks of the last writes leave before the sockets close
    await new Promise((r) => setTimeout(r, 50));
    // Close the Socket.IO connections of this process only, without a DISCONNECT packet: the clients
    // see "transport close" and reconnect by themselves (to the process that replaces this one in a
    // PM2 reload); disconnectSockets() would send one, and a client told so never reconnects.
    // close() also closes the adapters (their unsubscribes are queued before the Redis clients close).
    visitorIo.close().catch(() => {});
    adminIo.close().catch(() => {});
    // HTTP requests already received get their answer; idle keep-alive connections close now, and
    // whatever is still open at the deadline is cut.
    const httpDeadline = Date.now() + Math.max(config.shutdownTimeoutMs, 1000);
    let httpDone = false;
    closed.then(() => { httpDone = true; });
    while (!httpDone && Date.now() < httpDeadline) {
      httpServer.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
    }
    httpServer.closeAllConnections();
    await closed;
    restLimiter.stop();
    wsLimiter.stop();
    if (redis) await redis.close();
    await db.$disconnect().catch(() => {});
    log('SHUTDOWN_OK');
  }

  return { start, stop, ready, httpServer, prisma: db };
}

module.exports = { createChatServer, VISITOR_PATH, ADMIN_PATH, REDIS_KEY_VISITOR, REDIS_KEY_ADMIN, withTimeout };
