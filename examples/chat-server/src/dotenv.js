// SPDX-License-Identifier: GPL-3.0-or-later
// A tiny .env reader: KEY=value lines, '#' comments, optional `export `, single
// or double quotes (double quotes understand \n). Variables already in the
// environment win, as with the dotenv package.
'use strict';

const fs = require('node:fs');

function parseDotenv(text) {
  const out = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    if (value.startsWith('"')) {
      const end = value.lastIndexOf('"');
      value = end > 0 ? value.slice(1, end) : value.slice(1);
      value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else if (value.startsWith("'")) {
      const end = value.lastIndexOf("'");
      value = end > 0 ? value.slice(1, end) : value.slice(1);
    } else {
      const hash = value.search(/\s#/);
      if (hash !== -1) value = value.slice(0, hash);
      value = value.trim();
    }
    out[m[1]] = value;
  }
  return out;
}

// returns the parsed keys (or null when the file does not exist)
function loadDotenv(file, env = process.env) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  const parsed = parseDotenv(text);
  for (const [k, v] of Object.entries(parsed)) {
    if (env[k] === undefined) env[k] = v;
  }
  return parsed;
}

module.exports = { parseDotenv, loadDotenv };
