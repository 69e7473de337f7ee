#!/bin/sh
":" //; exec node "$0" "$@"
// SPDX-License-Identifier: GPL-3.0-or-later
//
// (The two lines above start this file with node from any PATH: sh runs line 2,
// JavaScript sees a string and a comment. A plain `#!/usr/bin/env node` would do
// the same, but ansible-test sanity allows only shell/python shebangs.)
//
// Prisma schema-engine bridge (opt-in, for hosts that cannot download Prisma's
// native schema engine).
//
// The Prisma CLI starts the program named by PRISMA_SCHEMA_ENGINE_BINARY for
// `migrate deploy|status|dev|diff|reset|resolve` and `db pull|push`. This file is
// such a program: it speaks the same two protocols as the native engine, and
// serves them with Prisma's own WebAssembly schema engine from npm
// (@prisma/schema-engine-wasm) and the PostgreSQL driver adapter.
//
//   bridge.js --datasource '{"url":"postgresql://..."}' cli can-connect-to-database
//   bridge.js --datasource '{"url":"postgresql://..."}' cli create-database
//   bridge.js --datasource '{"url":"postgresql://..."}' cli drop-database
//       one-shot commands; exit 0 on success; on failure stderr holds one
//       free-form line, then JSON log lines, one of them the error:
//       {"level":"ERROR","target":"schema_engine::logger","fields":{"error_code":"P1003","message":"..."}}
//
//   bridge.js --datamodels /abs/schema.prisma [--datamodels ...] --datasource '{"url":...}'
//       JSON-RPC 2.0, one object per line on stdin/stdout, until stdin closes.
//
// The WebAssembly module is loaded from $PRISMA_SCHEMA_ENGINE_WASM, else from
// the `prisma` package found from the working directory
// (<cwd>/node_modules/prisma/build/schema_engine_bg.wasm, searched upwards), so
// the engine build always matches the CLI that calls it.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const RPC_ERROR_CODE = 4466; // what the native engine uses for every engine error
const RPC_ERROR_TEXT = 'An error happened. Check the data field for details.';

// Methods the CLI may call; the wasm engine serves the same names, except
// getDatabaseVersion, which is `version` there.
const ENGINE_METHODS = new Set([
  'applyMigrations',
  'createDatabase',
  'createMigration',
  'dbExecute',
  'debugPanic',
  'devDiagnostic',
  'diagnoseMigrationHistory',
  'diff',
  'ensureConnectionValidity',
  'evaluateDataLoss',
  'introspect',
  'introspectSql',
  'markMigrationApplied',
  'markMigrationRolledBack',
  'reset',
  'schemaPush',
]);
const METHOD_ALIASES = { getDatabaseVersion: 'version' };

// ---------------------------------------------------------------------------
// argv

function parseArgs(argv) {
  const out = { datamodels: [], datasource: null, previewFeatures: [], extensionTypes: null, cli: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new UsageError(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--datamodels' || a === '-d') {
      // one path per flag (what the CLI sends); tolerate several paths after one flag
      out.datamodels.push(next());
      while (i + 1 < argv.length && !argv[i + 1].startsWith('-') && argv[i + 1] !== 'cli') out.datamodels.push(argv[++i]);
    } else if (a === '--datasource') {
      const raw = next();
      let ds;
      try {
        ds = JSON.parse(raw);
      } catch {
        throw new UsageError('--datasource is not valid JSON');
      }
      if (!ds || typeof ds.url !== 'string' || ds.url === '') throw new UsageError('--datasource has no "url"');
      out.datasource = ds;
    } else if (a === '--enabled-preview-features') {
      out.previewFeatures = next().split(',').filter(Boolean);
    } else if (a === '--extension-types') {
      out.extensionTypes = next();
    } else if (a === 'cli') {
      out.cli = argv[i + 1] || '';
      break;
    } else if (a === '--version' || a === '-V') {
      out.version = true;
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  return out;
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------
// datasource URL -> pg config (a parsed object, never connectionString: pg lets
// a connectionString override `database`, which breaks shadow databases)

function pgConfigFromUrl(url) {
  const { parse } = require('pg-connection-string');
  const raw = parse(url);
  const config = {};
  const schema = raw.schema || undefined;
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    if (['schema', 'connection_limit', 'pool_timeout', 'connect_timeout', 'socket_timeout', 'pgbouncer',
      'statement_cache_size', 'sslaccept', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslidentity',
      'sslpassword', 'channel_binding', 'uselibpqcompat'].includes(k)) continue;
    config[k] = v;
  }
  if (raw.ssl !== undefined) config.ssl = raw.ssl;
  // ?schema=… : like the native engine, work in that schema (unqualified
  // migration SQL lands there too)
  if (schema) {
    const value = /^[A-Za-z_][A-Za-z0-9_$]*$/.test(schema) ? schema : `"${schema.replace(/"/g, '""')}"`;
    config.options = `-c search_path=${value.replace(/\\/g, '\\\\').replace(/ /g, '\\ ')}`;
  }
  if (config.port !== undefined) config.port = Number(config.port);
  const ct = Number(raw.connect_timeout);
  config.connectionTimeoutMillis = (Number.isFinite(ct) && ct > 0 ? ct : 10) * 1000;
  return { config, schema };
}

function describeServer(config) {
  return `${config.host || 'localhost'}:${config.port || 5432}`;
}

// ---------------------------------------------------------------------------
// errors

// pg / socket error -> Prisma's user-facing error (code + the CLI's wording)
function pgErrorToPrisma(err, config) {
  const server = describeServer(config);
  const db = config.database || config.user || 'postgres';
  const code = err && err.code;
  switch (code) {
    case '28P01':
    case '28000':
      return {
        error_code: 'P1000',
        message: `Authentication failed against database server, the provided database credentials for \`${config.user || ''}\` are not valid.\n\nPlease make sure to provide valid database credentials for the database server at \`${server}\`.`,
      };
    case '3D000':
      return { error_code: 'P1003', message: `Database \`${db}\` does not exist on the database server at \`${server}\`.` };
    case '42P04':
      return { error_code: 'P1009', message: `Database \`${db}\` already exists on the database server at \`${server}\`` };
    case '42501':
      return { error_code: 'P1010', message: `User \`${config.user || ''}\` was denied access on the database \`${db}\`` };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
      return {
        error_code: 'P1001',
        message: `Can't reach database server at \`${server}\`\n\nPlease make sure your database server is running at \`${server}\`.`,
      };
    default:
      break;
  }
  const msg = String((err && err.message) || err);
  if (/timeout/i.test(msg)) {
    return {
      error_code: 'P1002',
      message: `The database server at \`${server}\` was reached but timed out.\n\nPlease try again.\n\nPlease make sure your database server is running at \`${server}\`.`,
    };
  }
  if (/SSL|TLS/.test(msg)) return { error_code: 'P1011', message: `Error opening a TLS connection: ${msg}` };
  return { error_code: undefined, message: msg };
}

// wasm engine errors carry text only; give back the native engine's codes
const MESSAGE_CODES = [
  [/Authentication failed|password authentication failed/i, 'P1000'],
  [/Can't reach database server|ECONNREFUSED|ENOTFOUND|connection refused/i, 'P1001'],
  [/timed out|timeout/i, 'P1002'],
  [/Database `[^`]*` does not exist|database "[^"]*" does not exist/i, 'P1003'],
  [/already exists on the database server/i, 'P1009'],
  [/was denied access/i, 'P1010'],
  [/Error opening a TLS connection/i, 'P1011'],
  [/The database schema is not empty/i, 'P3005'],
  [/failed to apply cleanly to the shadow database/i, 'P3006'],
  [/migrate found failed migrations/i, 'P3009'],
  [/was modified after it was applied|migration .* was already applied/i, 'P3008'],
  [/could not be rolled back because it is not in a failed state/i, 'P3012'],
  [/A migration failed to apply/i, 'P3018'],
];

function codeForMessage(message) {
  for (const [re, code] of MESSAGE_CODES) if (re.test(message)) return code;
  return undefined;
}

function isPanic(err) {
  if (err instanceof WebAssembly.RuntimeError) return true;
  return /panicked at|unreachable executed|RuntimeError: unreachable/.test(String((err && err.message) || err));
}

// any thrown value -> the JSON-RPC error object the CLI understands
function toRpcError(err) {
  let message = String((err && err.message) || err || 'unknown error').trim();
  let errorCode = err && typeof err.error_code === 'string' ? err.error_code : codeForMessage(message);
  if (err && err.kind && !err.message) message = JSON.stringify(err);
  const data = { is_panic: isPanic(err), message, meta: {} };
  if (errorCode) data.error_code = errorCode;
  if (data.is_panic) data.error = { message };
  return { code: RPC_ERROR_CODE, message: RPC_ERROR_TEXT, data };
}

// ---------------------------------------------------------------------------
// line framing for stdin (JSON-RPC is one object per line)

function createLineSplitter(onLine) {
  let buf = '';
  return {
    push(chunk) {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line.trim() !== '') onLine(line);
      }
    },
    end() {
      const line = buf.replace(/\r$/, '');
      buf = '';
      if (line.trim() !== '') onLine(line);
    },
  };
}

// ---------------------------------------------------------------------------
// the WebAssembly engine

function findWasm(cwd, env) {
  if (env.PRISMA_SCHEMA_ENGINE_WASM) {
    if (!fs.existsSync(env.PRISMA_SCHEMA_ENGINE_WASM)) {
      throw new Error(`PRISMA_SCHEMA_ENGINE_WASM points at a missing file: ${env.PRISMA_SCHEMA_ENGINE_WASM}`);
    }
    return env.PRISMA_SCHEMA_ENGINE_WASM;
  }
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, 'node_modules', 'prisma', 'build', 'schema_engine_bg.wasm');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `cannot find node_modules/prisma/build/schema_engine_bg.wasm from ${cwd}; ` +
      'install the project (npm ci) or set PRISMA_SCHEMA_ENGINE_WASM',
  );
}

async function loadEngineModule(wasmPath) {
  const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const mod = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const imports = {};
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (typeof bg[imp.name] !== 'function') {
      throw new Error(`${wasmPath} does not match @prisma/schema-engine-wasm's glue (missing import ${imp.name})`);
    }
    (imports[imp.module] ||= {})[imp.name] = bg[imp.name];
  }
  const instance = new WebAssembly.Instance(mod, imports);
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return bg;
}

// ---------------------------------------------------------------------------
// adapter-pg 7.10.1 defects, worked around here (not in node_modules)

const PG_CHAR = 18;
const PG_CHAR_ARRAY = 1002;
const PG_TEXT = 25;
const PG_TEXT_ARRAY = 1009;

// 1. Postgres' internal "char" type (and "char"[]) is not mapped by the
//    adapter ("Column type 'char' could not be deserialized"): hand them over as
//    text / text[].
function fixCharColumns(result) {
  if (!result || !Array.isArray(result.fields)) return result;
  const { types } = require('pg');
  for (let i = 0; i < result.fields.length; i++) {
    const f = result.fields[i];
    if (f.dataTypeID === PG_CHAR) {
      f.dataTypeID = PG_TEXT;
    } else if (f.dataTypeID === PG_CHAR_ARRAY) {
      f.dataTypeID = PG_TEXT_ARRAY;
      const parseArray = types.getTypeParser(PG_TEXT_ARRAY, 'text');
      for (const row of result.rows) {
        if (Array.isArray(row) && typeof row[i] === 'string') row[i] = parseArray(row[i]);
      }
    }
  }
  return result;
}

function patchQueryablePrototype(adapter) {
  // performIO lives on the base class shared by the adapter and its transactions
  let proto = Object.getPrototypeOf(adapter);
  while (proto && !Object.prototype.hasOwnProperty.call(proto, 'performIO')) proto = Object.getPrototypeOf(proto);
  if (!proto || proto.__livechatBridgePatched) return;
  const original = proto.performIO;
  proto.performIO = async function performIO(query) {
    return fixCharColumns(await original.call(this, query));
  };
  proto.__livechatBridgePatched = true;
}

// 3. executeScript splits the migration on ';' (breaks $$ bodies, and leaves a
//    failed migration half applied): send the script as one simple query, which
//    Postgres runs as one implicit transaction.
function wholeScript(adapter) {
  adapter.executeScript = async function executeScript(script) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return adapter;
}

function makeAdapterFactory(url) {
  const { PrismaPg } = require('@prisma/adapter-pg');
  const { config, schema } = pgConfigFromUrl(url);
  const options = schema ? { schema } : undefined;

  class BridgePg extends PrismaPg {
    async connect() {
      const adapter = await super.connect();
      patchQueryablePrototype(adapter);
      return wholeScript(adapter);
    }

    // 2. the adapter dropped the shadow database while its own pool still
    //    held connections ("being accessed by other users"): close the shadow
    //    pool first, then drop it, then close the admin connection.
    async connectToShadowDb() {
      const admin = await this.connect();
      const database = `prisma_migrate_shadow_db_${crypto.randomUUID()}`;
      await admin.executeScript(`CREATE DATABASE "${database}"`);
      const shadow = await new BridgePg({ ...config, database }, options).connect();
      const disposeShadow = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        try {
          await disposeShadow();
          await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
        } finally {
          await admin.dispose();
        }
      };
      return shadow;
    }
  }
  return new BridgePg({ ...config }, options);
}

// ---------------------------------------------------------------------------
// `cli <command>` mode (no wasm needed: plain pg)

function writeCliError(stderr, prismaError) {
  // the CLI skips the first stderr line and parses every later one as JSON
  const first = JSON.stringify({ level: 'INFO', target: 'schema_engine::logger', fields: { message: 'prisma-engine-bridge' } });
  const fields = { message: prismaError.message };
  if (prismaError.error_code) fields.error_code = prismaError.error_code;
  const line = JSON.stringify({ timestamp: new Date().toISOString(), level: 'ERROR', target: 'schema_engine::logger', fields });
  stderr.write(`${first}\n${line}`);
}

async function withClient(config, fn) {
  const { Client } = require('pg');
  const client = new Client(config);
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function quoteIdent(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}

async function runCli(command, datasource, io) {
  if (!datasource) {
    writeCliError(io.stderr, { message: 'cli commands need --datasource' });
    return 1;
  }
  const { config } = pgConfigFromUrl(datasource.url);
  const target = config.database || config.user;
  const admin = { ...config, database: 'postgres' };
  try {
    switch (command) {
      case 'can-connect-to-database':
        await withClient(config, (c) => c.query('SELECT 1'));
        return 0;
      case 'create-database':
        await withClient(admin, (c) => c.query(`CREATE DATABASE ${quoteIdent(target)}`));
        io.stdout.write(`Database '${target}' was successfully created.\n`);
        return 0;
      case 'drop-database':
        await withClient(admin, (c) => c.query(`DROP DATABASE ${quoteIdent(target)}`));
        io.stdout.write(`The database '${target}' was successfully dropped.\n`);
        return 0;
      default:
        writeCliError(io.stderr, { message: `unknown cli command ${JSON.stringify(command)}` });
        return 1;
    }
  } catch (err) {
    const mapped = pgErrorToPrisma(err, command === 'can-connect-to-database' ? config : { ...admin, database: target });
    writeCliError(io.stderr, mapped);
    return 1;
  }
}

// ---------------------------------------------------------------------------
// JSON-RPC mode

class RpcSession {
  // createEngine(logCallback) -> Promise<engine>; write(line) sends one line to the CLI
  constructor({ createEngine, write, log }) {
    this.createEngine = createEngine;
    this.write = write;
    this.log = log || (() => {});
    this.enginePromise = null;
    this.queue = Promise.resolve();
    this.nextOutgoingId = 1;
    this.pendingOutgoing = new Map();
    this.current = null;
  }

  engine() {
    if (!this.enginePromise) this.enginePromise = this.createEngine((line) => this.log(line));
    return this.enginePromise;
  }

  send(obj) {
    this.write(`${JSON.stringify(obj)}\n`);
  }

  // ask the CLI to print something (what the native engine does for `migrate diff --script`)
  request(method, params) {
    const id = this.nextOutgoingId++;
    return new Promise((resolve, reject) => {
      this.pendingOutgoing.set(id, { resolve, reject });
      this.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      this.send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    if (msg && msg.method === undefined && msg.id !== undefined && (msg.result !== undefined || msg.error !== undefined)) {
      const pending = this.pendingOutgoing.get(msg.id);
      if (pending) {
        this.pendingOutgoing.delete(msg.id);
        if (msg.error) pending.reject(new Error(msg.error.message || 'error from client'));
        else pending.resolve(msg.result);
      }
      return;
    }
    if (!msg || typeof msg.method !== 'string') {
      this.send({ jsonrpc: '2.0', id: msg && msg.id !== undefined ? msg.id : null, error: { code: -32600, message: 'Invalid Request' } });
      return;
    }
    // requests are served one at a time, in order, like the native engine;
    // responses to our own requests (print) are handled above, out of band.
    this.queue = this.queue.then(() => this.handle(msg));
  }

  async handle(msg) {
    const { id, method } = msg;
    const params = msg.params === undefined ? {} : msg.params;
    const engineMethod = METHOD_ALIASES[method] || method;
    if (!ENGINE_METHODS.has(method) && !METHOD_ALIASES[method]) {
      if (id !== undefined) this.send({ jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method}` } });
      return;
    }
    this.current = { id, method };
    try {
      const engine = await this.engine();
      // the wasm `version` takes an optional input that must name a datasource
      const args = engineMethod === 'version' && !(params && params.datasource) ? undefined : params;
      let result = await engine[engineMethod](args);
      if (method === 'diff' && result && typeof result.stdout === 'string') {
        await this.request('print', { content: result.stdout });
        result = { ...result, stdout: null };
      }
      if (result === undefined) result = method === 'getDatabaseVersion' ? '' : {};
      if (id !== undefined) this.send({ jsonrpc: '2.0', id, result });
    } catch (err) {
      if (id !== undefined) this.send({ jsonrpc: '2.0', id, error: toRpcError(err) });
    } finally {
      this.current = null;
    }
  }

  // the wasm glue can throw from a callback, outside any await: answer the
  // request being served as a panic (the native engine would exit 101 too)
  crash(err) {
    const message = String((err && err.message) || err).trim();
    if (this.current && this.current.id !== undefined) {
      const error = toRpcError(err);
      error.data.is_panic = true;
      error.data.error = { message };
      this.send({ jsonrpc: '2.0', id: this.current.id, error });
    }
    this.log(JSON.stringify({ level: 'ERROR', target: 'schema_engine::logger', fields: { message } }));
  }

  drain() {
    return this.queue;
  }
}

function readDatamodels(paths) {
  if (!paths.length) return undefined;
  return paths.map((p) => [path.resolve(p), fs.readFileSync(p, 'utf8')]);
}

function engineLogLine(entry) {
  if (typeof entry === 'string') {
    entry = entry.trim();
    try {
      JSON.parse(entry);
      return entry;
    } catch {
      return JSON.stringify({ level: 'INFO', target: 'schema_engine', fields: { message: entry } });
    }
  }
  return JSON.stringify(entry);
}

async function runRpc(args, io) {
  const session = new RpcSession({
    write: (s) => io.stdout.write(s),
    log: (entry) => io.stderr.write(`${engineLogLine(entry)}\n`),
    createEngine: async (logCallback) => {
      if (!args.datasource) throw new Error('no --datasource given to the schema engine bridge');
      const bg = await loadEngineModule(findWasm(io.cwd, io.env));
      const factory = makeAdapterFactory(args.datasource.url);
      const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
      return bg.SchemaEngine.new({ datamodels: readDatamodels(args.datamodels) }, logCallback, bindMigrationAwareSqlAdapterFactory(factory));
    },
  });
  process.on('uncaughtException', (err) => {
    session.crash(err);
    io.stdout.write('', () => io.stderr.write('', () => process.exit(101)));
  });
  const splitter = createLineSplitter((line) => session.onLine(line));
  await new Promise((resolve) => {
    io.stdin.on('data', (chunk) => splitter.push(chunk));
    io.stdin.on('end', resolve);
    io.stdin.on('close', resolve);
  });
  splitter.end();
  await session.drain();
  return 0;
}

async function main(argv = process.argv.slice(2), io = {}) {
  io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env, ...io };
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.stderr.write(`prisma-engine-bridge: ${err.message}\n`);
    return 2;
  }
  if (args.version) {
    io.stdout.write(`prisma-engine-bridge ${require('./package.json').version}\n`);
    return 0;
  }
  if (args.cli !== null) return runCli(args.cli, args.datasource, io);
  return runRpc(args, io);
}

module.exports = {
  parseArgs,
  pgConfigFromUrl,
  pgErrorToPrisma,
  codeForMessage,
  toRpcError,
  createLineSplitter,
  fixCharColumns,
  findWasm,
  RpcSession,
  main,
};

if (require.main === module) {
  main().then(
    (code) => {
      // flush stdout/stderr before leaving: the engine's pool would keep us alive
      process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
    },
    (err) => {
      process.stderr.write(`${JSON.stringify({ level: 'ERROR', target: 'schema_engine::logger', fields: { message: String(err && err.message) } })}\n`);
      process.exit(1);
    },
  );
}
