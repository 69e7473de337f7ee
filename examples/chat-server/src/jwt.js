// SPDX-License-Identifier: GPL-3.0-or-later
// JWT HS256, just what the agent tokens need: sign, and verify with a fixed
// algorithm (a token's own "alg" never chooses how it is checked).
'use strict';

const crypto = require('node:crypto');

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function sign(payload, secret, { expiresInSec } = {}) {
  const body = { ...payload };
  if (expiresInSec !== undefined) body.exp = Math.floor(Date.now() / 1000) + expiresInSec;
  if (body.iat === undefined) body.iat = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const data = `${head}.${b64url(JSON.stringify(body))}`;
  return `${data}.${crypto.createHmac('sha256', secret).update(data).digest('base64url')}`;
}

class TokenError extends Error {}

// -> payload, or throws TokenError whose message says why (never the token)
function verifyAdminToken(token, secret, { now = Date.now() / 1000, leewaySec = 5 } = {}) {
  if (typeof token !== 'string' || token === '') throw new TokenError('missing token');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed token');
  let header;
  let payload;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('malformed token');
  }
  if (!header || header.alg !== 'HS256') throw new TokenError('token algorithm must be HS256');
  const expected = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw new TokenError('invalid token signature');
  }
  if (!payload || typeof payload !== 'object') throw new TokenError('malformed token');
  if (typeof payload.exp !== 'number') throw new TokenError('token has no exp');
  if (payload.exp + leewaySec <= now) throw new TokenError('token expired');
  if (typeof payload.nbf === 'number' && payload.nbf - leewaySec > now) throw new TokenError('token not yet valid');
  if (payload.role !== 'admin') throw new TokenError('token role is not admin');
  return payload;
}

module.exports = { sign, verifyAdminToken, TokenError };
