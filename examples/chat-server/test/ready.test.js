// SPDX-License-Identifier: GPL-3.0-or-later
// The PM2 ready signal (wait_ready): process.send('ready') once the server
// listens and its database answered; and the entry point under cluster mode.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { ROOT, baseEnv, startServer, tempCwd, dbRelay, getJson, until } = require('./helpers');

test('forked with an IPC channel: sends ready after SERVER_OK, DB_OK and WS_OK, once', async () => {
  const s = await startServer({}, { ipc: true });
  let stdoutAtReady = null;
  s.proc.on('message', (m) => {
    if (m === 'ready' && stdoutAtReady === null) stdoutAtReady = s.stdout;
  });
  try {
    await until('the ready message', () => s.messages.includes('ready'));
    stdoutAtReady = stdoutAtReady === null ? s.stdout : stdoutAtReady;
    for (const line of [/^SERVER_OK port=\d+$/m, /^DB_OK$/m, /^WS_OK visitor=\/ws-visitor admin=\/ws-admin$/m]) {
      assert.match(stdoutAtReady, line);
    }
    assert.equal((await getJson(`${s.url()}/chat/health`)).status, 200);
    assert.deepEqual(s.messages, ['ready'], 'ready is sent once');
  } finally {
    await s.stop();
  }
  assert.equal(s.exitCode, 0, s.stderr);
});

test('no ready while the database is unreachable; ready once it answers', async () => {
  const relay = await dbRelay();
  await relay.cut();
  const s = await startServer({ CHAT_DATABASE_URL: relay.url, CHAT_HEALTH_TIMEOUT_MS: '500' }, { ipc: true });
  try {
    assert.match(s.stderr, /DB_ERROR/);
    assert.equal((await getJson(`${s.url()}/chat/health`)).status, 503);
    assert.deepEqual(s.messages, [], 'not ready without the database');
    await relay.restore();
    // the next health probe (or the 5 s retry) reaches the database
    await until('the ready message', async () => {
      await getJson(`${s.url()}/chat/health`);
      return s.messages.includes('ready');
    });
    assert.match(s.stdout, /^DB_OK$/m);
  } finally {
    await s.stop();
    await relay.cut();
  }
});

test('cluster mode (as PM2 runs it: the script required in a worker): starts, sends ready, serves, stops on SIGINT', async () => {
  // a primary in the style of PM2's cluster mode: fork a worker that runs src/server.js
  const primary = `
    const cluster = require('node:cluster');
    cluster.setupPrimary({ exec: ${JSON.stringify(path.join(ROOT, 'src', 'server.js'))}, silent: false });
    const worker = cluster.fork();
    worker.on('message', (m) => { if (m === 'ready') process.stdout.write('PRIMARY_GOT_READY\\n'); });
    worker.on('exit', (code) => { process.stdout.write('WORKER_EXIT ' + code + '\\n'); process.exit(0); });
    process.on('SIGTERM', () => worker.process.kill('SIGINT'));
  `;
  // a file, not node -e: cluster workers inherit execArgv, and -e would run the primary again
  const cwd = tempCwd({ 'primary.js': primary });
  const proc = spawn(process.execPath, [path.join(cwd, 'primary.js')], { cwd, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  try {
    await until('the worker to be ready', () => out.includes('PRIMARY_GOT_READY') || proc.exitCode !== null);
    assert.match(out, /PRIMARY_GOT_READY/, `${out}\n${err}`);
    const port = Number(/SERVER_OK port=(\d+)/.exec(out)[1]);
    assert.equal((await getJson(`http://127.0.0.1:${port}/chat/health`)).status, 200);
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
  assert.match(out, /SHUTDOWN_OK/);
  assert.match(out, /WORKER_EXIT 0/, `${out}\n${err}`);
});
