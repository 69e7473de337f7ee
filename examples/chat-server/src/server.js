#!/usr/bin/env node
// SPDX-License-Identifier: GPL-3.0-or-later
// Entry point (`npm start`): reads ./.env, checks every key, starts the server,
// tells PM2 when it is ready (wait_ready) and shuts it down cleanly on SIGINT/SIGTERM
// (PM2 reload/stop). Runs the same as the main module and under PM2's cluster mode,
// whose ProcessContainer require()s this file in a worker.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { loadDotenv } = require('./dotenv');
const { loadConfig, ConfigError } = require('./config');

function fail(message) {
  // one line, no stack trace, no secret value
  process.stderr.write(`chat-server: ${message}\n`);
  process.exit(1);
}

function releaseId(config, cwd) {
  if (config.releaseId) return config.releaseId;
  try {
    const rev = fs.readFileSync(path.join(cwd, 'REVISION'), 'utf8').trim();
    if (rev) return rev.split('\n')[0].trim();
  } catch {
    // no REVISION file
  }
  return 'unknown';
}

async function main() {
  const cwd = process.cwd();
  try {
    loadDotenv(path.join(cwd, '.env'));
  } catch (err) {
    fail(`cannot read ${path.join(cwd, '.env')}: ${err.code || err.message}`);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  config.releaseId = releaseId(config, cwd);

  const { createChatServer } = require('./app');
  let server;
  try {
    server = createChatServer(config);
  } catch (err) {
    fail(String(err.message).split('\n')[0]);
  }
  try {
    await server.start();
  } catch (err) {
    if (err.code === 'EADDRINUSE') fail(`CHAT_SERVER_PORT ${config.port} is already in use`);
    if (err.code === 'EACCES') fail(`CHAT_SERVER_PORT ${config.port} needs privileges this user does not have`);
    fail(`cannot start: ${String(err.message).split('\n')[0]}`);
  }

  let stopping = false;
  const onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    server.stop(`signal=${signal}`).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`chat-server: shutdown failed: ${String(err.message).split('\n')[0]}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // PM2 (fork and cluster mode) starts sending traffic after 'ready' when wait_ready is set;
  // process.send exists only when a parent listens on an IPC channel
  server.ready.then(() => {
    if (typeof process.send === 'function' && !stopping) process.send('ready');
  });
}

main().catch((err) => fail(`unexpected error: ${String(err && err.message).split('\n')[0]}`));
