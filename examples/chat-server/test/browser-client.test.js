// SPDX-License-Identifier: GPL-3.0-or-later
// The browser client a site's page loads from the visitors' path: the socket.io-client build of the
// version this chat-server depends on, and only on /ws-visitor.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer } = require('./helpers');

// the package's dist/ folder (its "exports" list only some of the files in it)
const clientDir = path.join(path.dirname(require.resolve('socket.io-client/package.json')), 'dist');
const clientBuild = (name) => fs.readFileSync(path.join(clientDir, name));

test('GET /ws-visitor/socket.io.min.js serves the socket.io-client build, byte for byte', async () => {
  const server = await startServer();
  try {
    for (const name of ['socket.io.min.js', 'socket.io.js']) {
      const res = await fetch(`${server.url()}/ws-visitor/${name}`);
      assert.equal(res.status, 200, name);
      assert.match(res.headers.get('content-type'), /javascript/, name);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.equals(clientBuild(name)), `${name} differs from socket.io-client/dist/${name}`);
    }
    const { version } = require('socket.io-client/package.json');
    const head = (await (await fetch(`${server.url()}/ws-visitor/socket.io.js`)).text()).slice(0, 200);
    assert.match(head, new RegExp(`Socket\\.IO v${version.replace(/\./g, '\\.')}\\b`));
  } finally {
    await server.stop();
  }
});

test('the agents path and the HTTP API do not serve the client', async () => {
  const server = await startServer();
  try {
    for (const p of ['/ws-admin/socket.io.min.js', '/chat/socket.io.min.js', '/socket.io/socket.io.min.js']) {
      const res = await fetch(`${server.url()}${p}`);
      await res.arrayBuffer();
      assert.notEqual(res.status, 200, p);
    }
  } finally {
    await server.stop();
  }
});
