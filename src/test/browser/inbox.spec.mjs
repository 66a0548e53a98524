// Browser tests of Herald's inbox page (GET /) and browser client (GET /herald.js), in Debian's
// Chromium driven by playwright-core. Run by dev.herald.browser.TestInboxPage against real Herald
// replicas on the embedded PostgreSQL; prints TAP and exits non-zero when a case fails.
//
// Environment:
//   HERALD_BASE          the replica whose page is tested (restarted by the control hooks)
//   HERALD_WRITER_BASE   another replica of the same database (up while the first restarts)
//   HERALD_LIMITED_BASE  a replica with a tiny replay budget (429 case)
//   HERALD_ADMIN_TOKEN   the operator token (mints tokens per case)
//   HERALD_CONTROL       the JUnit test's control server: POST /kill?prefix=, /stop, /start
//   HERALD_OTHER_ORIGIN  a static server on another origin (listed in HERALD_CORS_ORIGINS of
//                        HERALD_BASE) serving /cross-origin.html
//   HERALD_OUT           where screenshots go (default target)
//   HERALD_CASES         optional comma-separated subset of case names
//   CHROMIUM             the browser binary (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const BASE = required('HERALD_BASE');
const WRITER = env.HERALD_WRITER_BASE || BASE;
const LIMITED = env.HERALD_LIMITED_BASE || null;
const ADMIN = required('HERALD_ADMIN_TOKEN');
const CONTROL = env.HERALD_CONTROL || null;
const OTHER_ORIGIN = env.HERALD_OTHER_ORIGIN || null;
const OUT = env.HERALD_OUT || 'target';
const TENANT = 'acme';
const RUN = Math.random().toString(36).slice(2, 8);
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

function required(name) {
  if (!env[name]) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return env[name];
}

// ---- HTTP helpers (node's fetch, straight to the API) -----------------------------------------

async function http(base, method, path, token, body, headers = {}) {
  const h = Object.assign({ Accept: 'application/json' }, headers);
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  return { status: res.status, json, text, headers: res.headers };
}

async function mint(user, scopes = ['events:read']) {
  const body = { tenant: TENANT, scopes };
  if (user) body.user = user;
  const r = await http(BASE, 'POST', '/api/v1/admin/tokens', ADMIN, body);
  check(r.status === 201, `mint: ${r.status} ${r.text}`);
  return r.json.token;
}

let writerToken = null;
async function notify(user, fields, base = BASE) {
  writerToken = writerToken || await mint(null, ['events:write']);
  const r = await http(base, 'POST', `/api/v1/users/${encodeURIComponent(user)}/inbox`, writerToken, fields);
  check(r.status === 201, `notify: ${r.status} ${r.text}`);
  return r.json;
}

async function control(path) {
  check(CONTROL, 'no HERALD_CONTROL');
  const r = await fetch(CONTROL + path, { method: 'POST' });
  check(r.ok, `control ${path}: ${r.status} ${await r.text()}`);
}

async function sseConnections() {
  const r = await http(BASE, 'GET', '/metrics');
  const m = /^herald_sse_connections\s+([0-9.e+]+)/m.exec(r.text);
  check(m, 'no herald_sse_connections in /metrics');
  return Number(m[1]);
}

// ---- assertions and waiting --------------------------------------------------------------------

function check(ok, message) {
  if (!ok) throw new Error(message);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

async function until(fn, what, timeoutMs = 15000) {
  const start = Date.now();
  const end = start + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) {
        if (env.HERALD_DEBUG && Date.now() - start > 300) console.log(`  # waited ${Date.now() - start} ms for ${what}`);
        return last;
      }
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(50);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- page helpers ------------------------------------------------------------------------------

let browser;
const problems = []; // page errors and console errors of the current case

async function newContext(token, options = {}) {
  const context = await browser.newContext(Object.assign({ viewport: { width: 1100, height: 860 } }, options));
  if (token) await context.addCookies([{ name: 'herald_token', value: token, url: BASE, sameSite: 'Strict' }]);
  return context;
}

async function open(context, base = BASE) {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(base + '/');
  return page;
}

async function live(page, timeoutMs = 15000) {
  await page.waitForSelector('#connection[data-state="live"]', { timeout: timeoutMs });
}

const state = (page) => page.getAttribute('#connection', 'data-state');
const role = (page) => page.getAttribute('#connection', 'data-role');
const badge = (page) => page.evaluate(() => {
  const b = document.getElementById('badge');
  return b.hidden ? '0' : b.textContent;
});
const rows = (page) => page.$$eval('#list > li', (els) => els.map((e) => e.dataset.id));
const titles = (page) => page.$$eval('#list > li .note-title-text', (els) => els.map((e) => e.textContent));

async function rowsAre(page, ids, what) {
  await until(async () => JSON.stringify(await rows(page)) === JSON.stringify(ids), `${what}: rows ${JSON.stringify(ids)}`);
}

async function badgeIs(page, value, what) {
  await until(async () => (await badge(page)) === String(value), `${what}: badge ${value}`);
}

/** Records every value the connection indicator takes from now on. */
async function recordStates(page) {
  await page.evaluate(() => {
    const el = document.getElementById('connection');
    window.__states = [el.dataset.state];
    new MutationObserver(() => window.__states.push(el.dataset.state)).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  });
}

async function signedIn(user, options) {
  const token = await mint(user);
  const context = await newContext(token, options);
  const page = await open(context);
  await live(page);
  return { token, context, page };
}

function user(name) {
  return `${name}-${RUN}`;
}

// ---- cases -------------------------------------------------------------------------------------

const cases = [];
const test = (name, fn) => cases.push({ name, fn });

test('signs in with a token into the herald_token cookie alone, and signs out', async () => {
  const u = user('signin');
  const token = await mint(u);
  await notify(u, { title: 'Welcome aboard', content: 'Your first notification.' });
  const context = await newContext(null);
  const page = await open(context);
  await page.waitForSelector('#signin-form', { state: 'visible' });
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'signin.png') });
  await page.fill('#token', 'not-a-real-token');
  await page.click('#signin-submit');
  await until(async () => /not valid/.test(await page.textContent('#signin-error')), 'an invalid-token message');
  eq(await page.getAttribute('#token', 'aria-invalid'), 'true', 'aria-invalid');
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await live(page);
  eq(await titles(page), ['Welcome aboard'], 'titles');
  const cookies = await context.cookies(BASE);
  const c = cookies.find((k) => k.name === 'herald_token');
  check(c, 'no herald_token cookie');
  eq([c.value, c.path, c.sameSite, c.httpOnly], [token, '/', 'Strict', false], 'cookie value/path/SameSite/HttpOnly');
  eq(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], 'web storage');
  eq(await page.evaluate(() => indexedDB.databases().then((d) => d.length)), 0, 'IndexedDB databases');
  await page.click('#sign-out');
  await page.waitForSelector('#signin-form', { state: 'visible' });
  check(!(await context.cookies(BASE)).some((k) => k.name === 'herald_token'), 'cookie left after sign-out');
  await page.reload();
  await page.waitForSelector('#signin-form', { state: 'visible' });
  await context.close();
});

test('a browser that already holds the cookie opens / signed in', async () => {
  const u = user('cookie');
  await notify(u, { title: 'Older' });
  await notify(u, { title: 'Newer' });
  const { page, context } = await signedIn(u);
  eq(await titles(page), ['Newer', 'Older'], 'titles newest first');
  check(!(await page.isVisible('#signin')), 'sign-in form shown');
  await badgeIs(page, 2, 'badge');
  eq(await page.getAttribute('#bell', 'aria-label'), '2 unread notifications', 'bell label');
  await context.close();
});

test('a posted notification appears without reload and the badge counts up', async () => {
  const u = user('live');
  const { page, context } = await signedIn(u);
  await page.evaluate(() => { window.__sameDocument = true; });
  eq(await badge(page), '0', 'badge before');
  check(await page.isVisible('#empty'), 'empty state hidden');
  const a = await notify(u, { title: 'Build #512 passed', targets: ['ci'] });
  await rowsAre(page, [a.id], 'first');
  await badgeIs(page, 1, 'first');
  const b = await notify(u, { title: 'Build #513 failed', content: 'Tests: 2 failed, 318 passed', targets: ['ci'] });
  await rowsAre(page, [b.id, a.id], 'second');
  await badgeIs(page, 2, 'second');
  await until(async () => (await page.textContent('#announcer')) === 'New notification: Build #513 failed', 'aria-live announcement');
  eq(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  check(!(await page.isVisible('#empty')), 'empty state still shown');
  eq(await page.title(), '(2) Inbox · Herald', 'document title');
  await context.close();
});

test('read state, filters, load more and mark all read', async () => {
  const u = user('filters');
  const made = [];
  for (let i = 1; i <= 27; i++) made.push(await notify(u, { title: `Item ${i}` }));
  const { page, context } = await signedIn(u);
  const newest = made.slice().reverse().map((n) => n.id);
  await rowsAre(page, newest.slice(0, 25), 'first page');
  await badgeIs(page, 27, 'badge');
  await page.click('#load-more');
  await rowsAre(page, newest, 'after load more');
  check(await page.isHidden('#load-more'), 'load more still shown after the last page');
  // Click an item to mark it read; its toggle marks it unread again (keyboard).
  const item = `#list > li[data-id="${made[26].id}"]`;
  await page.click(`${item} .note-content, ${item} .note-title`);
  await badgeIs(page, 26, 'after click');
  check(!(await page.getAttribute(item, 'class')).includes('unread'), 'clicked item still unread');
  await page.focus(`${item} .note-toggle`);
  eq(await page.textContent(`${item} .note-toggle`), 'Mark as unread', 'toggle label');
  await page.keyboard.press('Enter');
  await badgeIs(page, 27, 'after mark unread');
  await page.click(`${item} .note-toggle`);
  await badgeIs(page, 26, 'after mark read again');
  await page.click('label[for="filter-read"]');
  await rowsAre(page, [made[26].id], 'read filter');
  await page.click('label[for="filter-unread"]');
  await rowsAre(page, newest.slice(1, 26), 'unread filter');
  await page.click('#mark-all');
  await badgeIs(page, 0, 'after mark all');
  await until(async () => (await page.$$('#list > li.unread')).length === 0, 'no unread rows');
  check(await page.isDisabled('#mark-all'), 'mark all enabled with nothing unread');
  await page.click('label[for="filter-all"]');
  await rowsAre(page, newest.slice(0, 25), 'all filter again');
  await context.close();
});

test('two tabs share one connection; marking read in one updates the other; the follower takes over', async () => {
  const u = user('tabs');
  const { token, page: a, context } = await signedIn(u);
  const b = await open(context);
  await live(b);
  eq([await role(a), await role(b)], ['leader', 'follower'], 'roles');
  await until(async () => (await sseConnections()) === 1, 'one SSE connection for two tabs');
  const n = await notify(u, { title: 'Shared news' });
  await rowsAre(a, [n.id], 'tab A');
  await rowsAre(b, [n.id], 'tab B');
  await badgeIs(a, 1, 'A');
  await badgeIs(b, 1, 'B');
  await b.click(`#list > li[data-id="${n.id}"] .note-toggle`); // mark read in B
  await badgeIs(a, 0, 'A after B marked read');
  await until(async () => !(await a.getAttribute(`#list > li[data-id="${n.id}"]`, 'class')).includes('unread'), 'row read in A');
  await a.click(`#list > li[data-id="${n.id}"] .note-toggle`); // unread again in A
  await badgeIs(b, 1, 'B after A marked unread');
  await b.click('#mark-all');
  await badgeIs(a, 0, 'A after mark all in B');
  eq(await sseConnections(), 1, 'still one connection');
  // The leader goes away: B takes over the connection and misses nothing.
  await a.close();
  await until(async () => (await role(b)) === 'leader', 'B leads');
  await live(b);
  const m = await notify(u, { title: 'After handover' });
  await rowsAre(b, [m.id, n.id], 'B after handover');
  await badgeIs(b, 1, 'B badge after handover');
  await until(async () => (await sseConnections()) === 1, 'one connection after handover');
  check(token, 'token');
  await context.close();
});

test('without BroadcastChannel every tab connects on its own and still stays in sync', async () => {
  const u = user('fallback');
  const token = await mint(u);
  const context = await newContext(token);
  await context.addInitScript(() => { delete window.BroadcastChannel; });
  const a = await open(context);
  const b = await open(context);
  await live(a);
  await live(b);
  eq([await role(a), await role(b)], ['direct', 'direct'], 'roles');
  await until(async () => (await sseConnections()) === 2, 'two SSE connections');
  const n = await notify(u, { title: 'Fallback news' });
  await rowsAre(a, [n.id], 'A');
  await rowsAre(b, [n.id], 'B');
  await a.click(`#list > li[data-id="${n.id}"] .note-toggle`);
  await badgeIs(b, 0, 'B after A marked read');
  await context.close();
});

test('a stream closed by the server: reconnecting, then caught up without duplicates', async () => {
  const u = user('kill');
  const { token, page, context } = await signedIn(u);
  const first = await notify(u, { title: 'Before the cut' });
  await rowsAre(page, [first.id], 'before');
  await recordStates(page);
  await control(`/kill?prefix=${token.slice(0, 8)}`);
  const later = [];
  for (let i = 1; i <= 3; i++) later.push(await notify(u, { title: `During the cut ${i}` }));
  await until(async () => (await page.evaluate(() => window.__states)).includes('reconnecting'), 'reconnecting shown');
  await live(page);
  const expected = later.reverse().map((n) => n.id).concat(first.id);
  await rowsAre(page, expected, 'after reconnect');
  await badgeIs(page, 4, 'badge after reconnect');
  await sleep(300);
  eq(await rows(page), expected, 'rows stay unique');
  await context.close();
});

test('a server restart: reconnecting, then caught up without duplicates', async () => {
  const u = user('restart');
  const { page, context } = await signedIn(u);
  const first = await notify(u, { title: 'Before the restart' });
  await rowsAre(page, [first.id], 'before');
  await recordStates(page);
  await control('/stop');
  await until(async () => (await state(page)) === 'reconnecting', 'reconnecting while down');
  await page.screenshot({ path: join(OUT, 'inbox-reconnecting.png') });
  const during = [];
  for (let i = 1; i <= 3; i++) during.push(await notify(u, { title: `While down ${i}` }, WRITER));
  await control('/start');
  await live(page, 40000);
  const expected = during.reverse().map((n) => n.id).concat(first.id);
  await rowsAre(page, expected, 'after restart');
  await badgeIs(page, 4, 'badge after restart');
  const after = await notify(u, { title: 'After the restart' });
  await rowsAre(page, [after.id].concat(expected), 'live after restart');
  const seen = await page.evaluate(() => window.__states);
  check(seen.includes('reconnecting') && seen[seen.length - 1] === 'live', `states ${seen}`);
  await context.close();
});

test('notification text is shown as text, never as markup', async () => {
  const u = user('xss');
  const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  await notify(u, {
    title: evil,
    content: '<b onmouseover="window.__xss=3">bold?</b>',
    icon: 'javascript:window.__xss=4',
    targets: ['<i>t</i>'],
    actions: [{ label: '<a href="javascript:window.__xss=5">x</a>', url: '/open?x=<y>' }, { label: 'Docs', url: 'https://docs.example.com/a' }],
  });
  const { page, context } = await signedIn(u);
  eq(await titles(page), [evil], 'title text');
  const item = '#list > li';
  eq(await page.textContent(`${item} .note-content`), '<b onmouseover="window.__xss=3">bold?</b>', 'content text');
  eq(await page.$$eval(`${item} img, ${item} script, ${item} b, ${item} i`, (e) => e.length), 0, 'elements from data');
  eq(await page.textContent(`${item} .note-icon`), '<', 'icon falls back to the title initial');
  eq(await page.$$eval(`${item} .chip`, (e) => e.map((x) => x.textContent)), ['<i>t</i>'], 'targets');
  const links = await page.$$eval(`${item} a.action`, (e) => e.map((a) => [a.textContent, a.getAttribute('href'), a.target, a.rel]));
  eq(links, [['<a href="javascript:window.__xss=5">x</a>', '/open?x=<y>', '', ''], ['Docs', 'https://docs.example.com/a', '_blank', 'noopener noreferrer']], 'action links');
  await page.hover(`${item} .note-content`);
  eq(await page.evaluate(() => window.__xss), undefined, 'no script ran');
  const verdicts = await page.evaluate(async () => {
    const { safeUrl } = await import('/herald.js');
    return ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'java\nscript:alert(1)', 'data:text/html,x',
      'vbscript:x', '\\\\evil', '//evil.example/x', 'https://ok.example/x', 'http://ok.example', '/rel', 'rel/ative', '?q=1', '#f']
      .map((u) => safeUrl(u) !== null);
  });
  eq(verdicts, [false, false, false, false, false, false, false, false, true, true, true, true, true, true], 'safeUrl verdicts');
  await context.close();
});

test('herald.js: transient events, server error events, dedupe, cursor; module and classic builds', async () => {
  const u = user('chat');
  const token = await mint(u, ['events:read', 'events:write']);
  const chat = await http(BASE, 'POST', '/api/v1/chats', token, { title: 'Client test' });
  check(chat.status === 201, `chat: ${chat.text}`);
  const id = chat.json.id;
  const context = await newContext(null);
  const page = await open(context);
  await page.evaluate(async ({ id, token }) => {
    const { subscribe } = await import('/herald.js');
    window.__got = [];
    window.__sub = subscribe(`/api/v1/chats/${id}/stream`, {
      token, shared: false,
      onEvent: (ev) => window.__got.push([ev.event, ev.id, ev.transient]),
    });
  }, { id, token });
  await until(() => page.evaluate(() => window.__sub.state === 'live'), 'live');
  const msg = (c) => http(BASE, 'POST', `/api/v1/chats/${id}/messages`, token, { role: 'user', content: c });
  await msg('one');
  await until(() => page.evaluate(() => window.__got.length === 1), 'first message');
  const sig = await http(BASE, 'POST', `/api/v1/chats/${id}/signals`, token, { status: 'running', error: { code: 'x' }, queue_update: true });
  check(sig.status === 202, `signals: ${sig.text}`);
  await until(() => page.evaluate(() => window.__got.length === 4), 'three transient events');
  await msg('two');
  await until(() => page.evaluate(() => window.__got.length === 5), 'second message');
  eq(await page.evaluate(() => window.__got), [['message', 1, false], ['status', null, true], ['error', null, true],
    ['queue_update', null, true], ['message', 2, false]], 'events');
  eq(await page.evaluate(() => [window.__sub.cursor, window.__sub.stats.duplicates, window.__sub.recent().map((e) => e.id)]), [2, 0, [1, 2]], 'cursor, duplicates, ring');
  await page.evaluate(() => window.__sub.close());
  // The same client as a classic script, and the module's exports.
  await page.addScriptTag({ url: '/herald.classic.js' });
  eq(await page.evaluate(() => [typeof window.Herald.subscribe, typeof window.Herald.safeUrl, window.Herald.VERSION]), ['function', 'function', '1'], 'window.Herald');
  const mod = await page.evaluate(async () => Object.keys(await import('/herald.js')).sort());
  eq(mod, ['Subscription', 'VERSION', 'backoffDelay', 'cookieToken', 'default', 'safeUrl', 'subscribe'], 'module exports');
  await context.close();
});

test('herald.js: a refused cursor resets, a bad token is fatal, 429 waits for Retry-After', async () => {
  const u = user('client');
  const token = await mint(u);
  const context = await newContext(null);
  const page = await open(context);
  // cursor_ahead: dropped, reconnected from now, onReset after it is live.
  const reset = await page.evaluate(async (token) => {
    const { subscribe } = await import('/herald.js');
    return new Promise((resolve) => {
      const states = [];
      const sub = subscribe('/api/v1/inbox/watch', {
        token, after: 999999, shared: false,
        onState: (s) => states.push(s),
        onReset: (info) => { sub.close(); resolve({ info, states, cursor: sub.cursor }); },
      });
    });
  }, token);
  eq(reset.info, { reason: 'cursor_ahead' }, 'reset info');
  eq(reset.states.filter((s, i, all) => s !== all[i - 1]).slice(0, 3), ['connecting', 'reconnecting', 'live'], 'states');
  eq(reset.cursor, null, 'cursor after reset');
  // 401: fatal, no retries.
  const fatal = await page.evaluate(async () => {
    const { subscribe } = await import('/herald.js');
    return new Promise((resolve) => {
      const sub = subscribe('/api/v1/inbox/watch', {
        token: 'invalid-token-000000000000', shared: false,
        onError: (err) => setTimeout(() => resolve({ err, state: sub.state, connects: sub.stats.connects }), 300),
      });
    });
  });
  eq([fatal.err.status, fatal.err.code, fatal.state, fatal.connects], [401, 'unauthorized', 'closed', 1], 'fatal');
  await context.close();
  if (!LIMITED) return;
  // 429 on a replica whose budget is 2 connects per 2 s: use both up, then subscribe.
  const limitedContext = await newContext(null);
  const p = await open(limitedContext, LIMITED);
  for (let i = 0; i < 2; i++) {
    const ctl = new AbortController();
    const r = await fetch(`${LIMITED}/api/v1/inbox/watch`, { headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` }, signal: ctl.signal });
    eq(r.status, 200, 'budget connect');
    ctl.abort();
  }
  const limited = await p.evaluate(async (token) => {
    const { subscribe } = await import('/herald.js');
    return new Promise((resolve) => {
      const log = [];
      const t0 = performance.now();
      const sub = subscribe('/api/v1/inbox/watch', {
        token, shared: false,
        onState: (s, info) => {
          log.push({ s, info, t: Math.round(performance.now() - t0) });
          if (s === 'live') { sub.close(); resolve(log); }
        },
      });
    });
  }, token);
  const refused = limited.find((e) => e.info && e.info.status === 429);
  check(refused, `no 429 seen: ${JSON.stringify(limited)}`);
  check(refused.info.retryAfter >= 1 && refused.info.delay >= refused.info.retryAfter * 1000, `delay ${JSON.stringify(refused)}`);
  const liveAt = limited[limited.length - 1].t;
  check(liveAt - refused.t >= refused.info.retryAfter * 1000 - 50, `reconnected before Retry-After: ${JSON.stringify(limited)}`);
  await limitedContext.close();
});

test('a page on another origin imports /herald.js, subscribes with access_token and shows a live event', async () => {
  check(OTHER_ORIGIN, 'no HERALD_OTHER_ORIGIN');
  check(new URL(OTHER_ORIGIN).origin !== new URL(BASE).origin, 'the page must be on another origin');
  const u = user('cors');
  const token = await mint(u);
  const context = await newContext(null);
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // (The static server has no /favicon.ico: its 404 is not a problem.)
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`); });
  const q = new URLSearchParams({ herald: BASE, token });
  await page.goto(`${OTHER_ORIGIN}/cross-origin.html?${q}`);
  await page.waitForSelector('body[data-state="live"]', { state: 'attached', timeout: 15000 });
  // A request with Authorization (preflighted) is answered and readable.
  const inbox = await page.evaluate(() => window.__inbox);
  eq(inbox.status, 200, `Bearer fetch from the other origin: ${JSON.stringify(inbox)}`);
  await notify(u, { title: 'Hello from another origin', content: 'CORS works' });
  await until(async () => (await page.textContent('#events')).includes('Hello from another origin'), 'the live event on the page');
  const seen = await page.evaluate(() => window.__urls);
  check(seen.every((url) => new URL(url).searchParams.has('access_token')), `EventSource without access_token: ${seen}`);
  await context.close();
});

test('herald.js: a pruned cursor resets once; the reset id is where a reconnect resumes', async () => {
  const u = user('pruned');
  const token = await mint(u, ['events:read', 'events:write']);
  for (let i = 1; i <= 5; i++) {
    const r = await http(BASE, 'POST', `/api/v1/users/${encodeURIComponent(u)}/events`, token, { type: 'tick', data: { i } });
    eq(r.status, 201, 'publish');
  }
  // Everything is pruned: the stream holds no event, only the reset can tell the client where it is.
  await control(`/prune?tenant=${TENANT}&stream=${encodeURIComponent('user:' + u)}&through=5`);
  const context = await newContext(null);
  const page = await open(context);
  await page.evaluate(async (token) => {
    const { subscribe } = await import('/herald.js');
    window.__resets = [];
    window.__got = [];
    window.__sub = subscribe('/api/v1/events', {
      token, after: 1, shared: false, events: ['tick'],
      onReset: (info) => window.__resets.push([info.reason, info.oldest, window.__sub ? window.__sub.cursor : null]),
      onEvent: (ev) => window.__got.push(ev.id),
    });
  }, token);
  await until(() => page.evaluate(() => window.__resets.length === 1), 'one reset');
  eq(await page.evaluate(() => [window.__resets, window.__sub.cursor]), [[['cursor_expired', 6, 5]], 5], 'reset and cursor');
  // The server ends the stream: the reconnect resumes after the reset's id, so no second reset.
  await control(`/kill?prefix=${token.slice(0, 8)}`);
  await until(() => page.evaluate(() => window.__sub.stats.connects === 2 && window.__sub.state === 'live'), 'reconnected');
  const r = await http(BASE, 'POST', `/api/v1/users/${encodeURIComponent(u)}/events`, token, { type: 'tick', data: { i: 6 } });
  eq(r.json.cursor, 6, 'next cursor');
  await until(() => page.evaluate(() => window.__got.length === 1), 'the next event');
  eq(await page.evaluate(() => [window.__got, window.__resets.length, window.__sub.cursor]), [[6], 1, 6], 'after reconnect');
  // A stored event named `reset` (the type is reserved, but stored ones may remain) is
  // data with its own cursor, not the server's reset.
  await control(`/publish?tenant=${TENANT}&stream=${encodeURIComponent('user:' + u)}&type=reset`);
  await until(() => page.evaluate(() => window.__got.length === 2), 'the stored reset event');
  eq(await page.evaluate(() => [window.__got, window.__resets.length, window.__sub.cursor]), [[6, 7], 1, 7], 'a stored reset');
  await page.evaluate(() => window.__sub.close());
  await context.close();
});

test('screenshots of the inbox for review', async () => {
  const u = user('shot');
  const read = [];
  read.push(await notify(u, { title: 'Nightly backup completed', content: 'Snapshot of 14 databases (182 GB) verified and stored.', targets: ['ops'] }));
  read.push(await notify(u, { title: 'Your export is ready', content: 'reports-2026-11.csv · 2.3 MB', targets: ['exports'], actions: [{ label: 'Download', url: '/exports/reports-2026-11.csv' }] }));
  await notify(u, { title: 'New sign-in from Firefox on Linux', content: 'If this was not you, revoke the session and change your token.', targets: ['security'], actions: [{ label: 'Review sessions', url: '/settings/sessions' }] });
  await notify(u, { title: 'Maya mentioned you in “Q3 roadmap”', content: '“@alice could you look at the search milestones before Friday?”', targets: ['mentions'] });
  await notify(u, { title: 'Invoice #1042 was paid', content: 'Acme Corp paid €4,200.00 by bank transfer.', targets: ['billing'], actions: [{ label: 'Open invoice', url: '/invoices/1042' }] });
  const { token, page, context } = await signedIn(u);
  for (const n of read) await http(BASE, 'PUT', `/api/v1/inbox/${n.id}/read-status`, token, { is_read: true });
  await badgeIs(page, 3, 'badge');
  await notify(u, { title: 'Deploy finished: api v2.14.0', content: 'All 12 checks passed. Rolled out to eu-west in 4 min 12 s.', targets: ['deploys', 'api'], actions: [{ label: 'View release', url: '/releases/2.14.0' }, { label: 'Runbook', url: 'https://runbooks.example.com/deploys' }] });
  await badgeIs(page, 4, 'badge');
  const shot = { animations: 'disabled', caret: 'hide' }; // the arrival highlight is finished at once
  await page.screenshot(Object.assign({ path: join(OUT, 'inbox.png'), fullPage: true }, shot));
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot(Object.assign({ path: join(OUT, 'inbox-dark.png'), fullPage: true }, shot));
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot(Object.assign({ path: join(OUT, 'inbox-mobile.png') }, shot));
  await context.close();
});

// ---- runner ------------------------------------------------------------------------------------

const only = env.HERALD_CASES ? env.HERALD_CASES.split(',').map((s) => s.trim()).filter(Boolean) : null;
const selected = only ? cases.filter((c) => only.some((o) => c.name.includes(o))) : cases;
mkdirSync(OUT, { recursive: true });
console.log('TAP version 13');
console.log(`1..${selected.length}`);
const started = Date.now();
browser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', headless: true, args: FLAGS, timeout: 60000 });
let failed = 0;
let index = 0;
for (const c of selected) {
  index++;
  problems.length = 0;
  const t0 = Date.now();
  let error = null;
  try {
    await Promise.race([c.fn(), sleep(60000).then(() => { throw new Error('case timed out after 60 s'); })]);
    if (problems.length) error = new Error(problems.join('\n'));
  } catch (e) {
    error = e;
  }
  for (const ctx of browser.contexts()) await ctx.close().catch(() => {});
  const ms = Date.now() - t0;
  if (error) {
    failed++;
    console.log(`not ok ${index} - ${c.name} (${ms} ms)`);
    for (const line of String(error.stack || error).split('\n')) console.log(`  # ${line}`);
  } else {
    console.log(`ok ${index} - ${c.name} (${ms} ms)`);
  }
}
await browser.close();
console.log(`# browser cases: ${selected.length - failed} of ${selected.length} ok in ${Date.now() - started} ms`);
process.exit(failed ? 1 : 0);
