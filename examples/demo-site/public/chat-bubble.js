// SPDX-License-Identifier: GPL-3.0-or-later
// The demo site's Live Chat bubble, a small stand-in for the main site's own widget. Clicking the bubble
// opens the panel and connects to the chat-server's visitors' Socket.IO path through the site's Nginx
// (/ws-visitor/, same origin). The panel's state reads "Connecting..." until the connection is up, then
// "Online"; "Offline" with the reason when it cannot connect (the spec's sections 5 and 6: a panel that
// stays Offline means /ws-visitor/ is not proxied, the chat-server is down, or the site's origin is not in
// CHAT_ALLOWED_ORIGINS). Messages are sent as `visitor:message {text}` and marked delivered on the ack.
(function () {
  'use strict';

  var PATH = '/ws-visitor';
  var bubble = document.getElementById('livechat-bubble');
  var panel = document.getElementById('livechat-panel');
  var status = document.getElementById('livechat-status');
  var detail = document.getElementById('livechat-detail');
  var list = document.getElementById('livechat-messages');
  var form = document.getElementById('livechat-form');
  var input = document.getElementById('livechat-input');
  var socket = null;
  var conversationId = null;

  function setState(state, why) {
    status.textContent = state;
    status.dataset.state = state === 'Online' ? 'online' : state === 'Offline' ? 'offline' : 'connecting';
    detail.textContent = why || '';
  }

  function showTransport() {
    var engine = socket && socket.io.engine;
    panel.dataset.transport = engine && engine.transport ? engine.transport.name : '';
    if (socket && socket.connected) detail.textContent = 'connected over ' + panel.dataset.transport;
  }

  function addMessage(who, text) {
    var item = document.createElement('li');
    var meta = document.createElement('small');
    item.className = who;
    item.textContent = text;
    item.appendChild(meta);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    return { item: item, meta: meta };
  }

  function connect() {
    setState('Connecting...');
    if (typeof window.io !== 'function') {
      setState('Offline', 'the chat client did not load from ' + PATH + '/socket.io.min.js');
      return;
    }
    socket = window.io({
      path: PATH,
      // WebSocket from the start: a browser sends no Origin header on a same-origin GET, so the
      // long-polling handshake of a page on the site's own domain would reach the chat-server without
      // the Origin it checks against CHAT_ALLOWED_ORIGINS (the WebSocket handshake always carries it)
      transports: ['websocket'],
      // a reconnect resumes the same conversation
      auth: function (cb) { cb(conversationId ? { conversationId: conversationId } : {}); },
      reconnectionAttempts: 10,
    });
    socket.on('connect', function () {
      setState('Online');
      showTransport();
    });
    socket.io.on('reconnect_attempt', function () { setState('Connecting...', 'reconnecting'); });
    socket.io.on('reconnect_failed', function () { setState('Offline', 'gave up reconnecting'); });
    socket.on('connect_error', function (err) { setState('Offline', err.message); });
    socket.on('disconnect', function (reason) { setState('Offline', reason); });
    socket.on('visitor:ready', function (info) {
      if (info && info.conversationId) conversationId = info.conversationId;
    });
    socket.on('admin:reply', function (msg) {
      addMessage('agent', msg.text).meta.textContent = 'Agent';
    });
  }

  bubble.addEventListener('click', function () {
    panel.hidden = !panel.hidden;
    bubble.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) {
      if (!socket) connect();
      input.focus();
    }
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || !socket || !socket.connected) return;
    input.value = '';
    var msg = addMessage('visitor', text);
    msg.item.dataset.state = 'sending';
    msg.meta.textContent = 'Sending...';
    socket.timeout(10000).emit('visitor:message', { text: text }, function (err, ack) {
      if (err || !ack || !ack.ok) {
        msg.item.dataset.state = 'failed';
        msg.meta.textContent = 'Not delivered: ' + (err ? err.message : (ack && ack.error) || 'no answer');
        return;
      }
      conversationId = ack.conversationId;
      msg.item.dataset.state = 'acked';
      msg.item.dataset.messageId = ack.id;
      msg.item.dataset.conversationId = ack.conversationId;
      msg.meta.textContent = 'Delivered';
    });
  });
}());
