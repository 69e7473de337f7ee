// SPDX-License-Identifier: GPL-3.0-or-later
// Per-key fixed-window counters (one window = one minute), and the client IP
// as seen through a local reverse proxy.
'use strict';

class RateLimiter {
  constructor(limitPerMin, { windowMs = 60000, now = () => Date.now() } = {}) {
    this.limit = limitPerMin;
    this.windowMs = windowMs;
    this.now = now;
    this.buckets = new Map();
    this.sweeper = setInterval(() => this.sweep(), windowMs).unref();
  }

  // -> {ok, remaining, retryAfterSec}
  take(key) {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b || t - b.start >= this.windowMs) {
      b = { start: t, count: 0 };
      this.buckets.set(key, b);
    }
    if (b.count >= this.limit) {
      return { ok: false, remaining: 0, retryAfterSec: Math.max(1, Math.ceil((b.start + this.windowMs - t) / 1000)) };
    }
    b.count += 1;
    return { ok: true, remaining: this.limit - b.count, retryAfterSec: 0 };
  }

  sweep() {
    const t = this.now();
    for (const [k, b] of this.buckets) if (t - b.start >= this.windowMs) this.buckets.delete(k);
  }

  stop() {
    clearInterval(this.sweeper);
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function isLoopback(addr) {
  return LOOPBACK.has(addr) || (typeof addr === 'string' && /^(::ffff:)?127\./.test(addr));
}

// Nginx on the same host sets X-Real-IP (and appends to X-Forwarded-For);
// those headers are believed only when the peer itself is loopback.
function clientIp(req) {
  const peer = req.socket && req.socket.remoteAddress;
  if (isLoopback(peer)) {
    const real = req.headers['x-real-ip'];
    if (typeof real === 'string' && real.trim()) return real.trim();
    const fwd = req.headers['x-forwarded-for'];
    if (typeof fwd === 'string' && fwd.trim()) {
      const parts = fwd.split(',').map((s) => s.trim()).filter(Boolean);
      if (parts.length) return parts[parts.length - 1];
    }
  }
  return peer || 'unknown';
}

module.exports = { RateLimiter, clientIp, isLoopback };
