// SPDX-License-Identifier: GPL-3.0-or-later
// Unit tests (pure functions) and protocol tests (the real bridge process, the
// real wasm engine, a real PostgreSQL, the real Prisma CLI).
//
// Environment (tests/node/run sets them):
//   BRIDGE_TEST_DATABASE_URL  superuser URL of a throwaway PostgreSQL (password auth over TCP)
//   BRIDGE_TEST_PRISMA_DIR    a project with node_modules/prisma (default: examples/chat-server)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const bridge = require('../bridge');

const BRIDGE = path.resolve(__dirname, '..', 'bridge.js');
const DB_URL = process.env.BRIDGE_TEST_DATABASE_URL;
const PRISMA_DIR = process.env.BRIDGE_TEST_PRISMA_DIR
  || path.resolve(__dirname, '..', '..', '..', '..', '..', 'examples', 'chat-server');
const WASM = path.join(PRISMA_DIR, 'node_modules', 'prisma', 'build', 'schema_engine_bg.wasm');
const PRISMA_CLI = path.join(PRISMA_DIR, 'node_modules', 'prisma', 'build', 'index.js');
const needDb = DB_URL ? false : 'BRIDGE_TEST_DATABASE_URL not set (run tests/node/run)';
const needWasm = needDb || (fs.existsSync(WASM) ? false : `no ${WASM} (npm ci in ${PRISMA_DIR})`);

function dbUrl(database, { password } = {}) {
  const u = new URL(DB_URL);
  u.pathname = `/${database}`;
  if (password !== undefined) u.password = password;
  return u.toString();
}

// what the Prisma CLI does with the stderr of `cli ...` (skip line 1, JSON.parse the rest)
function cliErrors(stderr) {
  return stderr.split(/\r?\n/).slice(1).map((line) => JSON.parse(line));
}

function runCli(command, url) {
  return spawnSync(BRIDGE, ['--datasource', JSON.stringify({ url }), 'cli', command], { encoding: 'utf8', timeout: 20000 });
}

// ---------------------------------------------------------------------------
// pure parts

test('argv: datamodels (repeated), datasource, preview features, cli mode', () => {
  const a = bridge.parseArgs(['--datamodels', '/a.prisma', '--datamodels', '/b.prisma', '--datasource', '{"url":"postgresql://x"}',
    '--enabled-preview-features', 'views,relationJoins', '--extension-types', '{"types":[]}']);
  assert.deepEqual(a.datamodels, ['/a.prisma', '/b.prisma']);
  assert.equal(a.datasource.url, 'postgresql://x');
  assert.deepEqual(a.previewFeatures, ['views', 'relationJoins']);
  assert.equal(a.cli, null);
  const c = bridge.parseArgs(['--datasource', '{"url":"postgresql://x"}', 'cli', 'can-connect-to-database']);
  assert.equal(c.cli, 'can-connect-to-database');
  assert.throws(() => bridge.parseArgs(['--datasource', '{nope']), /not valid JSON/);
  assert.throws(() => bridge.parseArgs(['--datasource', '{}']), /no "url"/);
  assert.throws(() => bridge.parseArgs(['--bogus']), /unknown argument/);
});

test('framing: one JSON object per line, whatever the chunking', () => {
  const lines = [];
  const s = bridge.createLineSplitter((l) => lines.push(l));
  s.push('{"id":1}\n{"id"');
  s.push(':2}\r\n\n');
  s.push(Buffer.from('{"id":3,"t":"caf'));
  s.push(Buffer.from('é"}\n{"id":4}'));
  assert.deepEqual(lines, ['{"id":1}', '{"id":2}', '{"id":3,"t":"café"}']);
  s.end();
  assert.deepEqual(lines.at(-1), '{"id":4}');
});

test('datasource URL -> parsed pg config (never connectionString), schema kept apart', () => {
  const { config, schema } = bridge.pgConfigFromUrl('postgresql://chat:p%40ss%2Fw@db.example:6543/chat?schema=live&sslmode=disable&connect_timeout=3');
  assert.equal(config.user, 'chat');
  assert.equal(config.password, 'p@ss/w');
  assert.equal(config.host, 'db.example');
  assert.equal(config.port, 6543);
  assert.equal(config.database, 'chat');
  assert.equal(config.connectionString, undefined);
  assert.equal(config.connectionTimeoutMillis, 3000);
  assert.equal(schema, 'live');
  // the schema becomes the search_path, as with the native engine
  assert.equal(config.options, '-c search_path=live');
  assert.equal(bridge.pgConfigFromUrl('postgresql://u@h/db?schema=my%20schema').config.options, '-c search_path="my\\ schema"');
  assert.equal(bridge.pgConfigFromUrl('postgresql://u@h/db').config.options, undefined);
});

test('error mapping: pg errors -> the native engine codes and wording', () => {
  const cfg = { host: '127.0.0.1', port: 5432, user: 'chat', database: 'chat' };
  const cases = [
    [{ code: '28P01' }, 'P1000', /Authentication failed .*`chat`/],
    [{ code: 'ECONNREFUSED' }, 'P1001', /Can't reach database server at `127.0.0.1:5432`/],
    [{ message: 'Connection terminated due to connection timeout' }, 'P1002', /timed out/],
    [{ code: '3D000' }, 'P1003', /Database `chat` does not exist on the database server at `127.0.0.1:5432`/],
    [{ code: '42P04' }, 'P1009', /already exists/],
    [{ code: '42501' }, 'P1010', /denied access/],
  ];
  for (const [err, code, re] of cases) {
    const m = bridge.pgErrorToPrisma(err, cfg);
    assert.equal(m.error_code, code);
    assert.match(m.message, re);
  }
  assert.equal(bridge.pgErrorToPrisma({ message: 'something else' }, cfg).error_code, undefined);
});

test('error mapping: wasm engine messages -> JSON-RPC errors the CLI understands', () => {
  assert.equal(bridge.codeForMessage('The database schema is not empty. Read more about how to baseline'), 'P3005');
  assert.equal(bridge.codeForMessage('migrate found failed migrations in the target database'), 'P3009');
  assert.equal(bridge.codeForMessage('Database `x` does not exist'), 'P1003');
  const e = bridge.toRpcError(new Error('The database schema is not empty.'));
  assert.equal(e.code, 4466);
  assert.deepEqual(e.data, { is_panic: false, message: 'The database schema is not empty.', meta: {}, error_code: 'P3005' });
  const plain = bridge.toRpcError(new Error('syntax error at or near "NOPE"'));
  assert.equal(plain.data.error_code, undefined);
  assert.equal(plain.data.is_panic, false);
  const panic = bridge.toRpcError(new WebAssembly.RuntimeError('unreachable'));
  assert.equal(panic.data.is_panic, true);
});

test('adapter defect 1: "char" and "char"[] columns are handed over as text', () => {
  const res = bridge.fixCharColumns({
    fields: [{ dataTypeID: 18 }, { dataTypeID: 1002 }, { dataTypeID: 23 }],
    rows: [['r', '{a,b}', 1]],
  });
  assert.deepEqual(res.fields.map((f) => f.dataTypeID), [25, 1009, 23]);
  assert.deepEqual(res.rows[0], ['r', ['a', 'b'], 1]);
});

test('wasm location: PRISMA_SCHEMA_ENGINE_WASM, else node_modules/prisma found upwards', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-wasm-'));
  const build = path.join(dir, 'node_modules', 'prisma', 'build');
  fs.mkdirSync(build, { recursive: true });
  fs.writeFileSync(path.join(build, 'schema_engine_bg.wasm'), '');
  fs.mkdirSync(path.join(dir, 'prisma'));
  assert.equal(bridge.findWasm(path.join(dir, 'prisma'), {}), path.join(build, 'schema_engine_bg.wasm'));
  assert.throws(() => bridge.findWasm(os.tmpdir(), { PRISMA_SCHEMA_ENGINE_WASM: path.join(dir, 'missing.wasm') }), /missing file/);
  assert.throws(() => bridge.findWasm('/', {}), /cannot find/);
});

// ---------------------------------------------------------------------------
// `cli ...` mode against a real PostgreSQL

test('cli can-connect-to-database: exit 0 when it can', { skip: needDb }, () => {
  const r = runCli('can-connect-to-database', dbUrl('postgres'));
  assert.equal(r.status, 0, r.stderr);
});

test('cli errors: P1003, P1001, P1000 in the shape the CLI parses', { skip: needDb }, () => {
  const missing = runCli('can-connect-to-database', dbUrl('no_such_db_for_bridge'));
  assert.equal(missing.status, 1);
  const e1 = cliErrors(missing.stderr).find((l) => l.level === 'ERROR' && l.target === 'schema_engine::logger');
  assert.equal(e1.fields.error_code, 'P1003');
  assert.match(e1.fields.message, /no_such_db_for_bridge/);

  const closed = new URL(dbUrl('postgres'));
  closed.port = '1';
  const e2 = cliErrors(runCli('can-connect-to-database', closed.toString()).stderr).find((l) => l.level === 'ERROR');
  assert.equal(e2.fields.error_code, 'P1001');

  if (new URL(DB_URL).password) {
    const bad = runCli('can-connect-to-database', dbUrl('postgres', { password: 'wrong-password' }));
    assert.equal(bad.status, 1);
    const e3 = cliErrors(bad.stderr).find((l) => l.level === 'ERROR');
    assert.equal(e3.fields.error_code, 'P1000');
    assert.ok(!bad.stderr.includes('wrong-password'));
  }
});

test('cli create-database / drop-database', { skip: needDb }, () => {
  const url = dbUrl(`bridge_cli_${process.pid}`);
  assert.equal(runCli('create-database', url).status, 0);
  assert.equal(runCli('can-connect-to-database', url).status, 0);
  const again = runCli('create-database', url);
  assert.equal(again.status, 1);
  assert.equal(cliErrors(again.stderr).find((l) => l.level === 'ERROR').fields.error_code, 'P1009');
  assert.equal(runCli('drop-database', url).status, 0);
  assert.equal(runCli('can-connect-to-database', url).status, 1);
});

// ---------------------------------------------------------------------------
// JSON-RPC mode: the real bridge, the real wasm engine

function rpcSession(args) {
  const child = spawn(BRIDGE, args, { cwd: PRISMA_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages = [];
  const waiters = [];
  let stderr = '';
  const splitter = bridge.createLineSplitter((line) => {
    const msg = JSON.parse(line);
    messages.push(msg);
    for (const w of [...waiters]) {
      if (w.pred(msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  });
  child.stdout.on('data', (d) => splitter.push(d));
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => stderr,
    write: (s) => child.stdin.write(s),
    next(pred, timeout = 20000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => reject(new Error(`timeout; stderr: ${stderr}`)), timeout).unref();
      });
    },
  };
}

test('rpc: framing, getDatabaseVersion, print forwarding for diff, errors, clean exit', { skip: needWasm }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-rpc-'));
  const schema = path.join(dir, 'schema.prisma');
  fs.writeFileSync(schema, 'datasource db {\n  provider = "postgresql"\n}\n\nmodel Thing {\n  id Int @id\n  label String\n}\n');
  const s = rpcSession(['--datamodels', schema, '--datasource', JSON.stringify({ url: dbUrl('postgres') })]);

  // two requests in one write, the third split across writes
  s.write('{"jsonrpc":"2.0","id":1,"method":"getDatabaseVersion","params":{}}\n{"jsonrpc":"2.0","id":2,"method":"noSuchMethod","params":{}}\n{"jsonrpc":"2.0","id":3,');
  s.write(`"method":"diff","params":${JSON.stringify({
    from: { tag: 'empty' },
    to: { tag: 'schemaDatamodel', files: [{ path: schema, content: fs.readFileSync(schema, 'utf8') }] },
    script: true,
    shadowDatabaseUrl: null,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  })}}\n`);

  const version = await s.next((m) => m.id === 1 && !m.method);
  assert.equal(typeof version.result, 'string', JSON.stringify(version));
  const unknown = await s.next((m) => m.id === 2 && !m.method);
  assert.equal(unknown.error.code, -32601);

  // the engine's diff output comes back as a print request, which we answer
  const print = await s.next((m) => m.method === 'print');
  assert.match(print.params.content, /CREATE TABLE "Thing"/);
  s.write(`${JSON.stringify({ jsonrpc: '2.0', id: print.id, result: {} })}\n`);
  const diff = await s.next((m) => m.id === 3 && !m.method);
  assert.equal(diff.result.exitCode, 0);
  assert.equal(diff.result.stdout, null);

  // not JSON
  s.write('this is not json\n');
  const parseError = await s.next((m) => m.error && m.error.code === -32700);
  assert.equal(parseError.id, null);

  // an engine error keeps the native shape
  s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'dbExecute', params: { datasourceType: { tag: 'url', url: dbUrl('postgres') }, script: 'SELECT * FROM table_that_does_not_exist' } })}\n`);
  const failed = await s.next((m) => m.id === 4 && !m.method);
  assert.equal(failed.error.code, 4466);
  assert.equal(failed.error.data.is_panic, false);
  assert.match(failed.error.data.message, /table_that_does_not_exist/);

  s.child.stdin.end();
  assert.equal(await s.exited, 0, s.stderr());
});

// ---------------------------------------------------------------------------
// the real Prisma CLI through the bridge: the three adapter defects

test('prisma CLI + bridge: $$ bodies, atomic failing migration, shadow database cleanup', { skip: needWasm || (fs.existsSync(PRISMA_CLI) ? false : 'no prisma CLI') }, () => {
  const db = `bridge_cli_project_${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-project-'));
  fs.symlinkSync(path.join(PRISMA_DIR, 'node_modules'), path.join(dir, 'node_modules'));
  fs.mkdirSync(path.join(dir, 'prisma', 'migrations', '1_init'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prisma.config.js'), `module.exports = { schema: 'prisma/schema.prisma', migrations: { path: 'prisma/migrations' }, datasource: { url: process.env.BRIDGE_PROJECT_URL } };\n`);
  fs.writeFileSync(path.join(dir, 'prisma', 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n\nmodel Item {\n  id    Int    @id\n  label String\n}\n');
  fs.writeFileSync(path.join(dir, 'prisma', 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
  fs.writeFileSync(path.join(dir, 'prisma', 'migrations', '1_init', 'migration.sql'),
    'CREATE TABLE "Item" ("id" INTEGER NOT NULL, "label" TEXT NOT NULL, CONSTRAINT "Item_pkey" PRIMARY KEY ("id"));\n'
    + 'CREATE FUNCTION item_label_upper() RETURNS trigger AS $$ BEGIN NEW.label := upper(NEW.label); RETURN NEW; END; $$ LANGUAGE plpgsql;\n');
  const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: BRIDGE, BRIDGE_PROJECT_URL: dbUrl(db), PRISMA_HIDE_UPDATE_MESSAGE: '1' };
  const prisma = (...args) => spawnSync(process.execPath, [PRISMA_CLI, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60000 });
  const psql = (sql, database = db) => spawnSync(process.execPath, ['-e', `
    const pg = require('pg'); const c = new pg.Client({ connectionString: process.argv[1] });
    c.connect().then(() => c.query(process.argv[2])).then((r) => { console.log(JSON.stringify(r.rows)); return c.end(); }, (e) => { console.error(e.message); process.exit(1); });
  `, dbUrl(database), sql], { cwd: path.dirname(BRIDGE), encoding: 'utf8' });

  try {
    const deploy = prisma('migrate', 'deploy', '--schema', 'prisma/schema.prisma');
    assert.equal(deploy.status, 0, deploy.stdout + deploy.stderr);
    assert.match(deploy.stdout, /successfully applied/);
    assert.match(psql("SELECT proname FROM pg_proc WHERE proname = 'item_label_upper'").stdout, /item_label_upper/);

    // defect 3: a failing migration must not leave its first statements applied
    fs.mkdirSync(path.join(dir, 'prisma', 'migrations', '2_broken'));
    fs.writeFileSync(path.join(dir, 'prisma', 'migrations', '2_broken', 'migration.sql'),
      'ALTER TABLE "Item" ADD COLUMN "note" TEXT;\nSELECT * FROM table_that_does_not_exist;\n');
    const broken = prisma('migrate', 'deploy', '--schema', 'prisma/schema.prisma');
    assert.equal(broken.status, 1);
    assert.equal(psql('SELECT column_name FROM information_schema.columns WHERE table_name = \'Item\' AND column_name = \'note\'').stdout.trim(), '[]');
    const again = prisma('migrate', 'deploy', '--schema', 'prisma/schema.prisma');
    assert.equal(again.status, 1);
    assert.match(again.stdout + again.stderr, /P3009/);
    fs.rmSync(path.join(dir, 'prisma', 'migrations', '2_broken'), { recursive: true });
    assert.equal(prisma('migrate', 'resolve', '--rolled-back', '2_broken', '--schema', 'prisma/schema.prisma').status, 0);

    // defects 1 and 2: a shadow database is created, described (catalog "char"
    // columns) and dropped again
    const before = psql("SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'", 'postgres').stdout;
    const diff = prisma('migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', 'prisma/schema.prisma', '--exit-code');
    assert.equal(diff.status, 0, diff.stdout + diff.stderr);
    assert.match(diff.stdout, /No difference detected/);
    const after = psql("SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'", 'postgres').stdout;
    assert.equal(after, before, 'no shadow database left behind');

    const status = prisma('migrate', 'status', '--schema', 'prisma/schema.prisma');
    assert.equal(status.status, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /up to date/);
  } finally {
    psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`, 'postgres');
  }
});
