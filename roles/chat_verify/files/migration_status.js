// SPDX-License-Identifier: GPL-3.0-or-later
// Read-only comparison of a release's prisma/migrations/ with the database's _prisma_migrations.
// Run with `node -` in the release directory (it resolves `pg` from the release's node_modules).
// The database URL is read from the dotenv file named by CHAT_ENV_FILE (key CHAT_DATABASE_URL),
// else from the environment; it is never printed. Prints one JSON object and exits 0.
'use strict';
const fs = require('fs');
const path = require('path');

function envValue(file, key) {
  let value;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/);
    if (!m || m[1] !== key) continue;
    let v = m[2].trim();
    const q = v[0];
    if ((q === '"' || q === "'" || q === '`') && v.lastIndexOf(q) > 0) {
      v = v.slice(1, v.lastIndexOf(q));
      if (q === '"') v = v.replace(/\\n/g, '\n');
    } else {
      v = v.replace(/\s+#.*$/, '');
    }
    value = v; // the last assignment wins, as in dotenv
  }
  return value;
}

function loadPg(dir) {
  const bases = [dir, path.join(dir, 'node_modules', '@prisma', 'adapter-pg')];
  return require(require.resolve('pg', { paths: bases }));
}

async function main() {
  const dir = process.cwd();
  const out = { release: path.basename(dir), folder: [], applied: [], failed: [], pending: [], unknown: [], error: '' };
  const migrationsDir = path.join(dir, 'prisma', 'migrations');
  try {
    out.folder = fs.readdirSync(migrationsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && fs.existsSync(path.join(migrationsDir, d.name, 'migration.sql')))
      .map((d) => d.name)
      .sort();
  } catch (err) {
    out.error = 'no migrations folder in ' + dir;
  }
  let url = process.env.CHAT_DATABASE_URL;
  try {
    if (process.env.CHAT_ENV_FILE) url = envValue(process.env.CHAT_ENV_FILE, 'CHAT_DATABASE_URL') || url;
  } catch (err) {
    out.error = 'cannot read ' + process.env.CHAT_ENV_FILE + ': ' + err.code;
  }
  if (!url) {
    out.error = out.error || 'CHAT_DATABASE_URL is not set';
    return out;
  }
  let pg;
  try {
    pg = loadPg(dir);
  } catch (err) {
    out.error = 'the pg driver is not installed in ' + dir + '/node_modules';
    return out;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    let rows = [];
    try {
      const res = await client.query(
        'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at, migration_name');
      rows = res.rows;
    } catch (err) {
      if (err.code !== '42P01') throw err; // 42P01: no _prisma_migrations table yet, nothing applied
    }
    for (const row of rows) {
      if (row.rolled_back_at) continue;
      if (row.finished_at) out.applied.push(row.migration_name);
      else out.failed.push(row.migration_name);
    }
    out.applied = [...new Set(out.applied)];
    out.failed = out.failed.filter((name) => !out.applied.includes(name));
    out.pending = out.folder.filter((name) => !out.applied.includes(name) && !out.failed.includes(name));
    out.unknown = out.applied.filter((name) => !out.folder.includes(name));
  } catch (err) {
    // pg messages name the host and user at most, never the password
    out.error = 'database: ' + (err.code ? err.code + ' ' : '') + String(err.message).split('\n')[0];
  } finally {
    await client.end().catch(() => {});
  }
  return out;
}

main().then(
  (out) => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (err) => { process.stdout.write(JSON.stringify({ error: 'unexpected: ' + err.message }) + '\n'); },
);
