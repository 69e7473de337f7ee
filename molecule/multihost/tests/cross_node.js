// SPDX-License-Identifier: GPL-3.0-or-later
// A visitor connected to one chat host and an agent connected to another, with the real
// socket.io-client of the deployed release: the visitor's message must reach the agent and the
// agent's reply must reach the visitor (only Socket.IO's Redis adapter carries them across hosts).
//   node cross_node.js <visitor url> <agent url> <visitor origin> <agent origin> <chat .env file>
// The agent token is signed with CHAT_ADMIN_JWT_SECRET read from the .env file (never printed).
// Prints ONE JSON line; exit 0 when both directions arrived, 1 otherwise.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');

const RELEASE = '/opt/livechat/current';
const { io } = require(require.resolve('socket.io-client', { paths: [RELEASE] }));
const { mintToken, parseDotenv } = require(`${RELEASE}/scripts/chat-client.js`);

const TIMEOUT = 10000;
const [visitorUrl, agentUrl, origin, adminOrigin, envFile] = process.argv.slice(2);

function connect(url, path, headerOrigin, auth) {
  const socket = io(url, {
    path, transports: ['websocket'], extraHeaders: { Origin: headerOrigin }, auth, reconnection: false, forceNew: true, timeout: TIMEOUT,
  });
  return new Promise((resolve) => {
    socket.on('connect', () => resolve({ socket, ok: true }));
    socket.on('connect_error', (err) => resolve({ socket, ok: false, error: String(err && err.message) }));
  });
}

function waitFor(socket, event, predicate) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, error: `no ${event} within ${TIMEOUT} ms` }), TIMEOUT);
    socket.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      resolve({ ok: true, payload });
    });
  });
}

async function main() {
  const out = { ok: false, visitor_url: visitorUrl, agent_url: agentUrl };
  const sockets = [];
  try {
    const secret = parseDotenv(fs.readFileSync(envFile, 'utf8')).CHAT_ADMIN_JWT_SECRET;
    const agent = await connect(agentUrl, '/ws-admin', adminOrigin, { token: mintToken(secret, false) });
    sockets.push(agent.socket);
    out.agent_connected = agent.ok;
    if (!agent.ok) return { ...out, error: `agent: ${agent.error}` };
    const visitor = await connect(visitorUrl, '/ws-visitor', origin, {});
    sockets.push(visitor.socket);
    out.visitor_connected = visitor.ok;
    if (!visitor.ok) return { ...out, error: `visitor: ${visitor.error}` };

    const nonce = crypto.randomBytes(6).toString('hex');
    const text = `cross-node ${nonce}`;
    const agentGot = waitFor(agent.socket, 'visitor:message', (p) => p && p.text === text);
    const ack = await visitor.socket.timeout(TIMEOUT).emitWithAck('visitor:message', { text }).catch((e) => ({ ok: false, error: e.message }));
    out.visitor_acked = Boolean(ack && ack.ok);
    if (!out.visitor_acked) return { ...out, error: `visitor message not acknowledged: ${ack && ack.error}` };
    const got = await agentGot;
    out.agent_received = got.ok && got.payload.id === ack.id && got.payload.conversationId === ack.conversationId;
    if (!out.agent_received) return { ...out, error: got.error || 'the agent got another message' };

    const replyText = `cross-node reply ${nonce}`;
    const visitorGot = waitFor(visitor.socket, 'admin:reply', (p) => p && p.text === replyText);
    const replied = await agent.socket.timeout(TIMEOUT)
      .emitWithAck('admin:reply', { conversationId: ack.conversationId, text: replyText }).catch((e) => ({ ok: false, error: e.message }));
    out.agent_acked = Boolean(replied && replied.ok);
    if (!out.agent_acked) return { ...out, error: `reply not acknowledged: ${replied && replied.error}` };
    const back = await visitorGot;
    out.visitor_received = back.ok && back.payload.id === replied.id;
    if (!out.visitor_received) return { ...out, error: back.error || 'the visitor got another reply' };
    out.ok = true;
    return out;
  } finally {
    for (const s of sockets) s.disconnect();
  }
}

main().then(
  (out) => { process.stdout.write(`${JSON.stringify(out)}\n`); process.exit(out.ok ? 0 : 1); },
  (err) => { process.stdout.write(`${JSON.stringify({ ok: false, error: String(err.message) })}\n`); process.exit(1); },
);
