// Herald inbox page (GET /). Plain DOM, no framework. Every notification string is set with
// textContent; action links only for http(s) or relative URLs (safeUrl).
//
// Sign-in state is the herald_token cookie alone (Path=/, SameSite=Strict; readable by this
// script, which sends it as `Authorization: Bearer` on API calls). Live updates come from
// GET /api/v1/inbox/watch through /herald.js, one connection shared by every tab.
import { subscribe, cookieToken, safeUrl, backoffDelay } from '/herald.js';

const COOKIE = 'herald_token';
const COOKIE_MAX_AGE = 60 * 60 * 24 * 30; // 30 days
const PAGE_SIZE = 25;

const $ = (id) => document.getElementById(id);
const ui = {
  session: $('session'),
  connection: $('connection'),
  connectionText: $('connection-text'),
  bell: $('bell'),
  badge: $('badge'),
  signOut: $('sign-out'),
  signin: $('signin'),
  signinForm: $('signin-form'),
  token: $('token'),
  signinError: $('signin-error'),
  signinSubmit: $('signin-submit'),
  inbox: $('inbox'),
  summary: $('summary'),
  markAll: $('mark-all'),
  filters: $('filters'),
  list: $('list'),
  empty: $('empty'),
  loadMore: $('load-more'),
  announcer: $('announcer'),
  toast: $('toast'),
  template: $('item-template'),
};

const CONNECTION_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', closed: 'Offline' };
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('herald-inbox-page') : null;

/** The signed-in state; null when signed out. */
let session = null;

// ---- cookie ----------------------------------------------------------------------------------

function storeToken(token) {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${token}; Path=/; Max-Age=${COOKIE_MAX_AGE}; SameSite=Strict${secure}`;
}

function forgetToken() {
  document.cookie = `${COOKIE}=; Path=/; Max-Age=0; SameSite=Strict`;
}

// ---- API -------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || null;
  }
}

async function request(method, path, body, token) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'network', 'Herald cannot be reached.');
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(res.status, err.code, err.message);
  }
  return data;
}

/** An API call for the signed-in user: the token is read from the cookie each time. */
async function api(method, path, body) {
  const token = cookieToken(COOKIE);
  if (!token || !session || token !== session.token) {
    signOut('You were signed out.', false);
    throw new ApiError(401, 'unauthorized', 'signed out');
  }
  try {
    return await request(method, path, body, token);
  } catch (e) {
    if (e.status === 401) signOut('Your token is no longer valid (revoked or unknown). Sign in again.', true);
    throw e;
  }
}

function describeAuthError(e) {
  if (e.status === 401) return 'This token is not valid, or it was revoked.';
  if (e.code === 'no_user') return 'This token belongs to no user. Sign in with a user\'s token.';
  if (e.code === 'missing_scope') return 'This token cannot read notifications (it needs the events:read scope).';
  if (e.code === 'no_tenant') return 'The operator token has no inbox. Sign in with a user\'s token.';
  if (e.status === 403) return 'This token may not read this inbox.';
  if (e.status === 0) return 'Herald cannot be reached. Try again in a moment.';
  return `Herald could not check the token (${e.message}).`;
}

// ---- views -----------------------------------------------------------------------------------

function showSignIn(message) {
  ui.session.hidden = true;
  ui.inbox.hidden = true;
  ui.signin.hidden = false;
  ui.signinError.textContent = message || '';
  ui.token.setAttribute('aria-invalid', message ? 'true' : 'false');
  document.title = 'Sign in · Herald';
  ui.token.focus();
}

function showInbox() {
  ui.signin.hidden = true;
  ui.session.hidden = false;
  ui.inbox.hidden = false;
  ui.list.replaceChildren();
  ui.empty.hidden = true;
  ui.loadMore.hidden = true;
  ui.summary.textContent = 'Loading…';
  setUnread(null);
}

let toastTimer = null;
function toast(message) {
  ui.toast.textContent = message;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 6000);
}

function announce(message) {
  ui.announcer.textContent = '';
  // A fresh text node each time so repeated messages are announced again.
  requestAnimationFrame(() => { ui.announcer.textContent = message; });
}

function setConnection(state) {
  ui.connection.dataset.state = state;
  ui.connectionText.textContent = CONNECTION_TEXT[state] || state;
}

function setUnread(count) {
  if (session) session.unread = count;
  const n = count || 0;
  ui.badge.hidden = n === 0;
  ui.badge.textContent = n > 99 ? '99+' : String(n);
  ui.bell.setAttribute('aria-label', n === 0 ? 'No unread notifications' : `${n} unread notification${n === 1 ? '' : 's'}`);
  ui.markAll.disabled = n === 0;
  if (count === null) return;
  ui.summary.textContent = n === 0 ? 'You\'re all caught up.' : `${n} unread`;
  document.title = n === 0 ? 'Inbox · Herald' : `(${n > 99 ? '99+' : n}) Inbox · Herald`;
}

function updateEmpty() {
  const none = session && session.items.size === 0 && session.loaded;
  ui.empty.hidden = !none;
  if (none) {
    ui.empty.textContent = session.filter === 'unread' ? 'No unread notifications.'
      : session.filter === 'read' ? 'No read notifications yet.' : 'No notifications yet. New ones appear here as they arrive.';
  }
  ui.loadMore.hidden = !session || session.exhausted || session.items.size === 0;
}

// ---- rendering -------------------------------------------------------------------------------

function timeText(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - Date.now()) / 1000);
  const a = Math.abs(s);
  if (a < 45) return 'just now';
  if (a < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (a < 86400) return relative.format(Math.round(s / 3600), 'hour');
  if (a < 7 * 86400) return relative.format(Math.round(s / 86400), 'day');
  return absolute.format(new Date(t));
}

function renderIcon(box, n) {
  box.replaceChildren();
  const icon = typeof n.icon === 'string' ? n.icon : '';
  // A colour per first target (or title), so sources are told apart at a glance.
  box.style.setProperty('--hue', String(hue((n.targets && n.targets[0]) || n.title || '')));
  const href = /^(https:\/\/|\/(?!\/))/i.test(icon) ? safeUrl(icon) : null; // an image: https or this site's path
  if (href) {
    const img = document.createElement('img');
    img.alt = '';
    img.referrerPolicy = 'no-referrer';
    img.loading = 'lazy';
    img.decoding = 'async';
    img.addEventListener('error', () => { box.replaceChildren(); box.textContent = initial(n.title); });
    img.src = href;
    box.append(img);
  } else if (icon && Array.from(icon).length <= 2) {
    box.textContent = icon; // an emoji or a short mark, as text
  } else {
    box.textContent = initial(n.title);
  }
}

function hue(text) {
  let h = 7;
  for (const ch of text) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function initial(title) {
  const first = Array.from((title || '').trim())[0];
  return first ? first.toUpperCase() : '•';
}

function render(n) {
  const li = ui.template.content.firstElementChild.cloneNode(true);
  const titleId = `n-${n.id}`;
  li.dataset.id = n.id;
  li.querySelector('.note').setAttribute('aria-labelledby', titleId);
  const title = li.querySelector('.note-title');
  title.id = titleId;
  li.querySelector('.note-title-text').textContent = n.title;
  const content = li.querySelector('.note-content');
  if (n.content) content.textContent = n.content;
  else content.remove();
  renderIcon(li.querySelector('.note-icon'), n);
  const time = li.querySelector('.note-time');
  time.dateTime = n.created_at;
  time.textContent = timeText(n.created_at);
  time.title = absolute.format(new Date(n.created_at));
  const targets = li.querySelector('.note-targets');
  for (const t of n.targets || []) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = t;
    targets.append(chip);
  }
  const actions = li.querySelector('.note-actions');
  for (const a of n.actions || []) {
    const href = safeUrl(a.url);
    if (!href) continue;
    const link = document.createElement('a');
    link.className = 'action';
    link.href = href;
    link.textContent = a.label;
    if (/^https?:/i.test(href)) {
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
    }
    actions.append(link);
  }
  if (!actions.firstChild) actions.remove();
  const item = { n, el: li };
  li.querySelector('.note-toggle').addEventListener('click', () => toggleRead(item));
  li.addEventListener('click', (e) => {
    if (e.target.closest('a, button')) return;
    if (!item.n.read_at) setRead(item, true);
  });
  paint(item);
  return item;
}

/** Reflects the read state of an item in its classes and toggle. */
function paint(item) {
  const unread = !item.n.read_at;
  item.el.classList.toggle('unread', unread);
  item.el.querySelector('.unread-label').hidden = !unread;
  const toggle = item.el.querySelector('.note-toggle');
  toggle.textContent = unread ? 'Mark as read' : 'Mark as unread';
  toggle.setAttribute('aria-label', `${unread ? 'Mark as read' : 'Mark as unread'}: ${item.n.title}`);
}

function matches(n) {
  return session.filter === 'all' || (session.filter === 'unread' ? !n.read_at : !!n.read_at);
}

function lowestCursor() {
  let low = Infinity;
  for (const it of session.items.values()) low = Math.min(low, it.n.cursor);
  return low;
}

/** Adds a notification in cursor order (newest first); false if it is there or not loaded yet. */
function insert(n, fresh) {
  if (session.items.has(n.id)) return false;
  if (!session.exhausted && session.items.size > 0 && n.cursor < lowestCursor()) return false; // on a later page
  const item = render(n);
  session.items.set(n.id, item);
  let before = null;
  for (const el of ui.list.children) {
    const other = session.items.get(el.dataset.id);
    if (other && other.n.cursor < n.cursor) {
      before = el;
      break;
    }
  }
  ui.list.insertBefore(item.el, before);
  if (fresh) {
    item.el.classList.add('fresh');
    setTimeout(() => item.el.classList.remove('fresh'), 2500);
  }
  return true;
}

function refreshTimes() {
  if (!session) return;
  for (const it of session.items.values()) {
    const t = it.el.querySelector('.note-time');
    t.textContent = timeText(it.n.created_at);
  }
}
setInterval(refreshTimes, 30000);

// ---- live events -----------------------------------------------------------------------------

/** Applies one inbox event; idempotent, so events can be applied again after a refetch. */
function apply(ev, live) {
  const d = ev.data || {};
  if (ev.event === 'notification' && d.notification) {
    const n = d.notification;
    if (typeof d.unread_count === 'number') setUnread(d.unread_count);
    const seen = session.items.has(n.id);
    if (matches(n)) insert(n, live);
    if (live && !seen) announce(`New notification: ${n.title}`);
    updateEmpty();
  } else if (ev.event === 'read_status') {
    if (typeof d.unread_count === 'number') setUnread(d.unread_count);
    if (d.all) {
      for (const it of session.items.values()) {
        if (!it.n.read_at && ev.id !== null && it.n.cursor < ev.id) {
          it.n = Object.assign({}, it.n, { read_at: d.read_at });
          paint(it);
        }
      }
    } else if (d.id && session.items.has(d.id)) {
      const it = session.items.get(d.id);
      it.n = Object.assign({}, it.n, { read_at: d.read_at == null ? null : d.read_at });
      paint(it);
    }
  }
}

function onEvent(ev) {
  if (!session) return;
  session.seq++;
  if (session.inflight > 0) session.log.push({ seq: session.seq, ev });
  apply(ev, true);
}

/**
 * Runs a list request and merges its page; events that arrived while it was in flight are
 * applied again afterwards (the page may predate them), so the view converges on the server's.
 */
async function load(path, replace) {
  const s = session;
  const gen = replace ? ++s.gen : s.gen;
  const from = s.seq;
  s.inflight++;
  ui.list.setAttribute('aria-busy', 'true');
  try {
    const page = await api('GET', path);
    if (session !== s || gen !== s.gen) return null; // superseded (filter changed, signed out)
    if (replace) {
      s.items.clear();
      ui.list.replaceChildren();
      s.exhausted = false;
    }
    for (const n of page.notifications) {
      if (s.items.has(n.id)) continue;
      const item = render(n);
      s.items.set(n.id, item);
      ui.list.append(item.el);
    }
    s.exhausted = page.notifications.length < PAGE_SIZE;
    s.loaded = true;
    setUnread(page.unread_count);
    for (const entry of s.log) if (entry.seq > from) apply(entry.ev, false);
    updateEmpty();
    return page;
  } finally {
    s.inflight--;
    if (s.inflight === 0) {
      s.log = [];
      ui.list.setAttribute('aria-busy', 'false');
    }
  }
}

function listPath(extra) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (session.filter !== 'all') q.set('read_status', session.filter);
  if (extra) for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `/api/v1/inbox?${q}`;
}

async function refetch() {
  try {
    await load(listPath(), true);
  } catch (e) {
    if (session && e.status !== 401) toast('Could not refresh the inbox. It will refresh when the connection is back.');
  }
}

// ---- actions ---------------------------------------------------------------------------------

async function setRead(item, read) {
  const toggle = item.el.querySelector('.note-toggle');
  toggle.disabled = true;
  try {
    const n = await api('PUT', `/api/v1/inbox/${encodeURIComponent(item.n.id)}/read-status`, { is_read: read });
    const current = session && session.items.get(n.id);
    if (current) {
      current.n = n;
      paint(current);
    }
  } catch (e) {
    if (e.status !== 401) toast(read ? 'Could not mark the notification as read.' : 'Could not mark the notification as unread.');
  } finally {
    toggle.disabled = false;
  }
}

function toggleRead(item) {
  return setRead(item, !item.n.read_at);
}

async function markAllRead() {
  ui.markAll.disabled = true;
  try {
    await api('PUT', '/api/v1/inbox/mark-all-read');
    announce('All notifications marked as read.');
  } catch (e) {
    if (e.status !== 401) toast('Could not mark all notifications as read.');
  } finally {
    ui.markAll.disabled = !session || !session.unread;
  }
}

async function loadMore() {
  const last = ui.list.lastElementChild;
  if (!last) return;
  ui.loadMore.disabled = true;
  try {
    const page = await load(listPath({ starting_before: last.dataset.id }), false);
    if (page) announce(page.notifications.length ? `${page.notifications.length} more notifications loaded.` : 'No more notifications.');
  } catch (e) {
    if (e.status !== 401) toast('Could not load more notifications.');
  } finally {
    ui.loadMore.disabled = false;
  }
}

// ---- session ---------------------------------------------------------------------------------

async function start() {
  const token = cookieToken(COOKIE);
  if (!token) {
    showSignIn('');
    return;
  }
  if (session) return;
  const s = (session = { token, filter: 'all', items: new Map(), gen: 0, seq: 0, inflight: 0, log: [], unread: null, loaded: false, exhausted: false, sub: null });
  showInbox();
  ui.filters.querySelector('input[value="all"]').checked = true;
  setConnection('connecting');
  // The first page, then the stream from that page's newest cursor: nothing falls in between.
  let page = null;
  for (let attempt = 0; session === s && !page; attempt++) {
    try {
      page = await load(listPath(), true);
    } catch (e) {
      if (session !== s) return;
      if (e.status === 403) {
        signOut(describeAuthError(e), true);
        return;
      }
      setConnection('reconnecting');
      await new Promise((r) => setTimeout(r, Math.max(500, backoffDelay(attempt, 1000, 15000))));
    }
  }
  if (session !== s || !page) return;
  const after = page.notifications.reduce((max, n) => Math.max(max, n.cursor), 0);
  s.sub = subscribe('/api/v1/inbox/watch', {
    after,
    onEvent,
    onReset: () => { if (session === s) refetch(); },
    onState: (state) => {
      if (session !== s) return;
      setConnection(state);
      ui.connection.dataset.role = s.sub ? s.sub.role : '';
    },
    onError: (err) => {
      if (session !== s) return;
      if (err.status === 401 || err.status === 403) signOut('Your token is no longer valid (revoked or unknown). Sign in again.', true);
      else setConnection('closed');
    },
  });
  ui.connection.dataset.role = s.sub.role;
}

function signOut(message, everywhere) {
  const s = session;
  session = null;
  if (s && s.sub) s.sub.close();
  if (everywhere) {
    forgetToken();
    if (tabs) tabs.postMessage({ t: 'signout' });
  }
  setConnection('closed');
  showSignIn(message);
}

async function signIn(event) {
  event.preventDefault();
  const token = ui.token.value.trim();
  if (!token) {
    showSignIn('Enter your access token.');
    return;
  }
  if (!/^[A-Za-z0-9._~+\/=-]+$/.test(token) || token.length > 512) {
    showSignIn('That does not look like a Herald token.');
    return;
  }
  ui.signinSubmit.disabled = true;
  ui.signinError.textContent = '';
  try {
    await request('GET', '/api/v1/inbox?limit=1', undefined, token);
  } catch (e) {
    showSignIn(describeAuthError(e));
    return;
  } finally {
    ui.signinSubmit.disabled = false;
  }
  ui.token.value = '';
  storeToken(token);
  if (tabs) tabs.postMessage({ t: 'signin' });
  await start();
  $('main').focus();
}

ui.signinForm.addEventListener('submit', signIn);
ui.signOut.addEventListener('click', () => signOut('You signed out.', true));
ui.markAll.addEventListener('click', markAllRead);
ui.loadMore.addEventListener('click', loadMore);
ui.filters.addEventListener('change', (e) => {
  if (!session || e.target.name !== 'filter') return;
  session.filter = e.target.value;
  refetch();
});
if (tabs) {
  tabs.onmessage = (m) => {
    const t = m.data && m.data.t;
    if (t === 'signout' && session) signOut('You signed out in another tab.', false);
    if (t === 'signin' && !session) start();
  };
}
addEventListener('pagehide', () => {
  if (session && session.sub) session.sub.close();
});
addEventListener('pageshow', (e) => {
  if (e.persisted && session) { // back from the back/forward cache: resubscribe from scratch
    const s = session;
    session = null;
    if (s.sub) s.sub.close();
    start();
  }
});

start();
