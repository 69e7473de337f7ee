// SPDX-License-Identifier: GPL-3.0-or-later
//
// The spec's section 5 step 1 in a real browser: open the main site's home page, click the Live bubble,
// see the panel go from "Connecting..." to "Online", send a message and see it acknowledged (stored by
// the chat-server), save a screenshot. Optionally, open the same page under a name whose origin is NOT
// in CHAT_ALLOWED_ORIGINS and see the panel go "Offline" with the server's reason (the spec's section 6).
//
//   node tests/browser/chat-bubble.js --connect 127.0.0.1:8080 [--url http://admin1167.com/]
//        [--refused-url http://www.admin1167.com/] [--screenshot FILE] [--timeout-ms 30000]
//        [--chromium /usr/bin/chromium]
//
// Headless Chromium (Debian's package) through playwright-core. Every host name of the URLs resolves to
// --connect (a loopback address and port, e.g. a container's published port 80); every other name fails
// to resolve, so the browser can reach nothing else. One JSON line on stdout; exit 0 when every check
// passed, 1 when one failed, 2 on bad usage.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const USAGE = 'usage: chat-bubble.js --connect 127.0.0.1:PORT [--url URL] [--refused-url URL] [--screenshot FILE] '
  + '[--timeout-ms MS] [--chromium PATH]';

function parseArgs(argv) {
  const opts = {
    url: 'http://admin1167.com/',
    refusedUrl: null,
    connect: null,
    screenshot: null,
    timeoutMs: 30000,
    chromium: process.env.LIVECHAT_CHROMIUM || '/usr/bin/chromium',
    message: `hello from headless Chromium ${new Date().toISOString()}`,
  };
  const names = {
    '--url': 'url', '--refused-url': 'refusedUrl', '--connect': 'connect', '--screenshot': 'screenshot',
    '--timeout-ms': 'timeoutMs', '--chromium': 'chromium', '--message': 'message',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}\n${USAGE}`);
    opts[key] = key === 'timeoutMs' ? Number(argv[i + 1]) : argv[i + 1];
  }
  // loopback only: this test never sends traffic anywhere else
  if (!/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):\d{1,5}$/.test(opts.connect || '')) {
    throw new Error(`--connect must be a loopback address and port (127.x.y.z:PORT or [::1]:PORT)\n${USAGE}`);
  }
  if (!(opts.timeoutMs > 0)) throw new Error(`--timeout-ms must be a positive number\n${USAGE}`);
  return opts;
}

// Chromium's flags: the ones the suite always uses, a fresh profile, and the name mapping.
function chromiumArgs(opts) {
  const hosts = [...new Set([opts.url, opts.refusedUrl].filter(Boolean).map((u) => new URL(u).hostname))];
  const rules = [...hosts.map((h) => `MAP ${h} ${opts.connect}`), 'MAP * ~NOTFOUND'].join(', ');
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // the site is plain HTTP on the published port: no automatic https:// attempt first
    '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable',
    `--host-resolver-rules=${rules}`,
  ];
}

// Open the page, click the bubble, and record every text the panel's state shows (a MutationObserver set
// up before the click, so a short-lived "Connecting..." is seen however fast the connection comes up).
async function openChat(context, url, timeoutMs) {
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const response = await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
  const httpStatus = response ? response.status() : null;
  await page.locator('#livechat-bubble').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.evaluate(() => {
    const el = document.getElementById('livechat-status');
    window.__livechatStates = [];
    new MutationObserver(() => {
      const text = el.textContent;
      const seen = window.__livechatStates;
      if (seen[seen.length - 1] !== text) seen.push(text);
    }).observe(el, { childList: true, characterData: true, subtree: true });
  });
  await page.locator('#livechat-bubble').click({ timeout: timeoutMs });
  await page.locator('#livechat-panel').waitFor({ state: 'visible', timeout: timeoutMs });
  return { page, httpStatus, consoleLines };
}

async function waitForState(page, states, timeoutMs) {
  await page.waitForFunction(
    (wanted) => wanted.includes(document.getElementById('livechat-status').textContent),
    states, { timeout: timeoutMs },
  );
  return page.evaluate(() => ({
    state: document.getElementById('livechat-status').textContent,
    detail: document.getElementById('livechat-detail').textContent,
    history: window.__livechatStates.slice(),
  }));
}

async function allowedOrigin(context, opts, out) {
  const { page, httpStatus, consoleLines } = await openChat(context, opts.url, opts.timeoutMs);
  out.page = { url: opts.url, http_status: httpStatus, console: consoleLines };
  try {
    await chatAndAck(page, opts, out);
  } catch (err) {
    // what the page showed when it failed
    if (opts.screenshot) {
      await saveScreenshot(page, opts.screenshot, out).catch(() => {});
    }
    throw err;
  }
  await page.close();
}

async function saveScreenshot(page, file, out) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  await page.screenshot({ path: file });
  out.screenshot = path.resolve(file);
}

async function chatAndAck(page, opts, out) {
  const online = await waitForState(page, ['Online', 'Offline'], opts.timeoutMs);
  out.states = online.history;
  out.detail = online.detail;
  if (online.state !== 'Online') throw new Error(`the panel went ${online.state}: ${online.detail}`);
  if (online.history[0] !== 'Connecting...') throw new Error(`the panel did not show Connecting... first: ${JSON.stringify(online.history)}`);

  await page.locator('#livechat-input').fill(opts.message);
  await page.locator('#livechat-send').click({ timeout: opts.timeoutMs });
  const sent = page.locator('#livechat-messages li.visitor').last();
  await page.waitForFunction(
    () => {
      const li = [...document.querySelectorAll('#livechat-messages li.visitor')].pop();
      return li && li.dataset.state !== 'sending';
    },
    null, { timeout: opts.timeoutMs },
  );
  out.ack = await sent.evaluate((li) => ({
    state: li.dataset.state,
    id: li.dataset.messageId || null,
    conversationId: li.dataset.conversationId || null,
    shown: li.textContent,
  }));
  out.ack.text = opts.message;
  if (out.ack.state !== 'acked') throw new Error(`the message was not acknowledged: ${out.ack.shown}`);

  // the bubble connects over WebSocket only (see examples/demo-site/public/chat-bubble.js)
  out.transport = await page.evaluate(() => document.getElementById('livechat-panel').dataset.transport);
  out.final_state = await page.evaluate(() => document.getElementById('livechat-status').textContent);
  if (out.transport !== 'websocket') throw new Error(`the visitor connection stayed on ${out.transport}, not websocket`);

  if (opts.screenshot) await saveScreenshot(page, opts.screenshot, out);
}

async function refusedOrigin(context, opts, out) {
  const { page, httpStatus } = await openChat(context, opts.refusedUrl, opts.timeoutMs);
  const seen = await waitForState(page, ['Online', 'Offline'], opts.timeoutMs);
  out.refused = { url: opts.refusedUrl, http_status: httpStatus, states: seen.history, detail: seen.detail };
  if (seen.state !== 'Offline') throw new Error(`a page from ${new URL(opts.refusedUrl).origin} went ${seen.state}`);
  await page.close();
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const out = { ok: false, url: opts.url, connect: opts.connect, step: 'launch' };
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'livechat-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.chromium,
      headless: true,
      args: chromiumArgs(opts),
      viewport: { width: 1000, height: 700 },
      timeout: opts.timeoutMs,
    });
    out.browser = context.browser() ? context.browser().version() : null;
    out.step = 'allowed origin';
    await allowedOrigin(context, opts, out);
    if (opts.refusedUrl) {
      out.step = 'refused origin';
      await refusedOrigin(context, opts, out);
    }
    out.step = 'done';
    out.ok = true;
  } catch (err) {
    out.error = String(err && err.message).split('\n').slice(0, 6).join(' | ');
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return out.ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; });
