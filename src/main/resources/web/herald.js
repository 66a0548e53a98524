/*
 * Herald browser client.
 *
 *   GET /herald.js          this file, an ES module:  import { subscribe } from '/herald.js';
 *   GET /herald.classic.js  the same code as a classic script that sets window.Herald
 *                           (<script src="/herald.classic.js"></script>).
 *
 * const sub = subscribe('/api/v1/inbox/watch', {
 *   token,                        // optional on the same origin when the herald_token cookie is set
 *   after: 41,                    // optional start cursor (without it the stream starts at "now")
 *   onEvent(ev) {},               // {id, event, data, transient, raw, at}; id is null for transient events
 *   on: { notification(ev) {} },  // per event name
 *   onReset(info) {},             // refetch your snapshot: {reason: 'cursor_expired'|'resubscribed'|'gap'|'cursor_ahead'|'invalid_cursor', ...}
 *   onState(state, info) {},      // 'connecting' | 'live' | 'reconnecting' | 'closed'
 *   onError(err) {},              // fatal: {status, code, message}; the subscription is closed
 * });
 * sub.cursor; sub.state; sub.role; sub.recent(); sub.close();
 *
 * What it does: EventSource with the herald_token cookie (same origin, preferred) or the
 * access_token query parameter; tracks the cursor; on any error it closes the EventSource and
 * reconnects itself with exponential backoff and full jitter (capped), resuming with ?after=<cursor>;
 * when a connection fails before it opened it asks the server why with one fetch() of the same URL
 * (an EventSource hides the status): 429/503 wait at least Retry-After, 401/403/404 are fatal, a
 * cursor the server refuses is dropped (then onReset). Events with a cursor at or below the last one
 * seen are dropped (dedupe). One connection per browser and stream: tabs elect a leader with the Web
 * Locks API and share its events over a BroadcastChannel; without those APIs (or with
 * shared: false) every tab connects on its own.
 */

const VERSION = '1';

/** Event names of Herald's SSE endpoints (an EventSource only reports names it listens to). */
const KNOWN_STREAMS = [
  { path: /\/api\/v1\/inbox\/watch$/, events: ['notification', 'read_status'] },
  { path: /\/api\/v1\/chats\/watch$/, events: ['created', 'title_change', 'status_change', 'deleted', 'diff_status_change'] },
  { path: /\/api\/v1\/chats\/[^/]+\/stream$/, events: ['message', 'deleted', 'status', 'retry', 'error', 'queue_update', 'full_refresh'], fromBeginning: true },
  { path: /\/api\/v1\/config\/watch$/, events: ['config_change'] },
  { path: /\/api\/v1\/teams\/[^/]+\/events$/, events: ['queued', 'running', 'progress', 'completed', 'failed'] },
];

const DEFAULTS = {
  baseDelay: 1000,   // ms: the first retry waits 0..1 s, the next 0..2 s, 0..4 s, ...
  maxDelay: 30000,   // ms: the cap of the exponential part
  stableAfter: 5000, // ms a connection must have stayed open for the next failure to start over at attempt 0
  ringSize: 200,     // recent persisted events kept (sub.recent(); tabs joining a shared connection catch up from it)
  probeTimeout: 5000,
  helloInterval: 1000,
  cookieName: 'herald_token',
};

const CLOSED = 2; // EventSource.CLOSED

/** Full jitter: a uniformly random delay in [0, min(cap, base * 2^attempt)). */
function backoffDelay(attempt, base = DEFAULTS.baseDelay, cap = DEFAULTS.maxDelay, random = Math.random) {
  const ceiling = Math.min(cap, base * Math.pow(2, Math.min(Math.max(0, attempt), 30)));
  return Math.floor(random() * ceiling);
}

/** The token in the herald_token cookie of this origin, or null. */
function cookieToken(name = DEFAULTS.cookieName) {
  if (typeof document === 'undefined' || !document.cookie) return null;
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? null : value;
    }
  }
  return null;
}

/**
 * A link target that is safe to render: an absolute http(s) URL or a reference without a scheme
 * (resolved against the page). Anything else (javascript:, data:, scheme-relative //host/x,
 * whitespace or control characters, backslashes) gives null.
 */
function safeUrl(url, base) {
  if (typeof url !== 'string' || url === '' || url.length > 2048) return null;
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(url)) return null;
  if (url.startsWith('//')) return null; // scheme-relative: another site, disguised as a path
  let resolved;
  try {
    resolved = new URL(url, base || (typeof location !== 'undefined' ? location.href : 'http://invalid/'));
  } catch (e) {
    return null;
  }
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') return null;
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^https?:/i.test(url)) return null;
  return url;
}

function parseData(raw) {
  try {
    return JSON.parse(raw);
  } catch (e) {
    return raw;
  }
}

/**
 * Whether a `reset` frame with id `idText` is the server's own: its data says `cursor_expired`
 * with `oldest`, and its id is `oldest - 1`. A stored event's data never looks like that (user
 * events wrap theirs in {type, data, created_at}).
 */
function isServerReset(info, idText) {
  return info !== null && typeof info === 'object' && info.reason === 'cursor_expired'
    && Number.isSafeInteger(info.oldest) && /^\d+$/.test(idText) && Number(idText) === info.oldest - 1;
}

function toCursor(value) {
  const n = typeof value === 'number' ? value : (/^\d+$/.test(String(value)) ? Number(value) : NaN);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('herald: a cursor is a non-negative integer, got ' + value);
  return n;
}

function retryAfterSeconds(header) {
  if (header == null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** FNV-1a: names the shared channel per token without putting the token in the name. */
function fingerprint(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

function randomId() {
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

function report(error) {
  if (typeof reportError === 'function') reportError(error);
  else setTimeout(() => { throw error; });
}

/**
 * Asks the server why a connection failed: the same request as the EventSource's, read by
 * fetch(). A 200 means the failure was transient; the probe's stream is aborted at once.
 */
async function probe(url, timeoutMs) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      headers: { Accept: 'text/event-stream' },
      credentials: 'same-origin',
      cache: 'no-store',
      signal: abort.signal,
    });
    const out = { status: res.status, retryAfter: retryAfterSeconds(res.headers.get('Retry-After')) };
    if (res.status === 200) {
      abort.abort();
      return out;
    }
    try {
      const body = await res.json();
      if (body && body.error) {
        out.code = body.error.code;
        out.message = body.error.message;
      }
    } catch (e) {
      // not an API error body
    }
    return out;
  } catch (e) {
    return { status: 0 };
  } finally {
    clearTimeout(timer);
  }
}

class Subscription {
  constructor(url, options = {}) {
    const o = (this._o = Object.assign({}, DEFAULTS, options));
    const here = typeof location !== 'undefined' ? location.href : undefined;
    const target = new URL(url, here);
    target.searchParams.delete('after');
    target.searchParams.delete('access_token');
    this.url = target.href;
    this._sameOrigin = typeof location !== 'undefined' && target.origin === location.origin;
    const known = KNOWN_STREAMS.find((k) => k.path.test(target.pathname));
    this._events = Array.from(new Set(['message'].concat(o.events || (known ? known.events : []))));
    this._fromBeginning = o.fromBeginning != null ? !!o.fromBeginning : !!(known && known.fromBeginning);
    this._token = o.token || null;
    /** The last persisted event's cursor (null: none yet and no `after` given). */
    this.cursor = o.after == null ? null : toCursor(o.after);
    /** 'connecting' | 'live' | 'reconnecting' | 'closed' */
    this.state = 'connecting';
    /** 'direct' (own connection) | 'leader' (holds the shared one) | 'follower' (uses a leader's) */
    this.role = null;
    this.stats = { connects: 0, failures: 0, delivered: 0, duplicates: 0, transient: 0, probes: 0 };
    this._ring = [];
    this._known = this.cursor; // the ring holds every persisted event after this cursor
    this._attempt = 0;
    this._timer = null;
    this._es = null;
    this._closed = false;
    this._subscribed = false; // had a subscription: a later cursor-less connect could miss events
    this._pendingReset = null;
    this._id = randomId();
    this._onOnline = () => {
      if (this._timer !== null && (this.role === 'direct' || this.role === 'leader')) {
        clearTimeout(this._timer);
        this._attempt = 0;
        this._connect();
      }
    };
    if (typeof addEventListener === 'function') addEventListener('online', this._onOnline);
    const shareable = o.shared !== false && typeof BroadcastChannel === 'function'
      && typeof navigator !== 'undefined' && navigator.locks && typeof navigator.locks.request === 'function';
    if (shareable) this._startShared();
    else {
      this.role = 'direct';
      this._emitState('connecting', {});
      this._connect();
    }
  }

  /** The recent persisted events (oldest first), at most ringSize. */
  recent() {
    return this._ring.slice();
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    if (this._timer !== null) clearTimeout(this._timer);
    if (this._helloTimer) clearInterval(this._helloTimer);
    if (this._es) this._es.close();
    this._es = null;
    if (typeof removeEventListener === 'function') removeEventListener('online', this._onOnline);
    if (this._channel) {
      if (this.role === 'leader') this._post({ t: 'bye' });
      this._channel.close();
    }
    if (this._releaseLock) this._releaseLock();
    if (this._lockAbort) this._lockAbort.abort();
    this._emitState('closed', {});
  }

  // ---- one connection (direct, or the leader's) -------------------------------------------

  _streamUrl() {
    const u = new URL(this.url);
    if (this.cursor !== null) u.searchParams.set('after', String(this.cursor));
    // The cookie is preferred: it keeps the token out of URLs (logs, history). EventSource sends
    // it on the same origin; the query parameter is for other origins or another token.
    const token = this._token;
    if (token && !(this._sameOrigin && cookieToken(this._o.cookieName) === token)) u.searchParams.set('access_token', token);
    return u.href;
  }

  _connect() {
    this._timer = null;
    if (this._closed) return;
    if (this.cursor === null && this._subscribed && !this._fromBeginning && !this._pendingReset) {
      // Resuming without a cursor starts at "now": whatever happened meanwhile is not replayed.
      this._pendingReset = { reason: 'resubscribed' };
    }
    const url = this._streamUrl();
    const es = new EventSource(url);
    this._es = es;
    this.stats.connects++;
    let opened = false;
    let openedAt = 0;
    let lastId = ''; // this connection's last `id:`; an event that leaves it unchanged had none
    const onMessage = (e) => {
      if (this._es !== es) return;
      const idText = e.lastEventId || '';
      let id = null;
      if (idText !== lastId) {
        lastId = idText;
        if (/^\d+$/.test(idText)) id = Number(idText);
      }
      if (id !== null) {
        if (this.cursor !== null && id <= this.cursor) {
          this.stats.duplicates++;
          return;
        }
        this.cursor = id;
      }
      this._deliver({ id, event: e.type, data: parseData(e.data), transient: id === null, raw: e.data, at: Date.now() }, true);
    };
    es.addEventListener('open', () => {
      if (this._es !== es) return;
      opened = true;
      openedAt = Date.now();
      this._subscribed = true;
      this._emitState('live', {});
      if (this._pendingReset) {
        const info = this._pendingReset;
        this._pendingReset = null;
        this._reset(info);
      }
    });
    for (const name of this._events) if (name !== 'error' && name !== 'reset') es.addEventListener(name, onMessage);
    es.addEventListener('reset', (e) => {
      if (this._es !== es) return;
      const idText = e.lastEventId || '';
      const info = parseData(e.data);
      // The server's reset is `id: <oldest - 1>` with data {"reason":"cursor_expired","oldest":n};
      // a `reset` without an id is one too. Any other event named `reset` that brings an id is a
      // stored event (types `reset` and `error` are reserved, but older ones may remain): data,
      // not a reset.
      if (idText !== lastId && !isServerReset(info, idText)) {
        onMessage(e);
        return;
      }
      // Its id is the cursor just before the oldest retained event: resuming from there is exact
      // and does not bring the reset again.
      if (idText !== lastId) {
        lastId = idText;
        const id = Number(idText);
        if (this.cursor === null || id > this.cursor) this.cursor = id;
      }
      this._reset(info && typeof info === 'object' ? info : { reason: 'reset' });
    });
    es.addEventListener('error', (e) => {
      if (typeof e.data === 'string') { // `event: error` sent by the server (chat streams)
        onMessage(e);
        return;
      }
      if (this._es !== es) return;
      const refused = es.readyState === CLOSED; // an HTTP error; a dropped connection would retry
      es.close();
      this._es = null;
      if (this._closed) return;
      this.stats.failures++;
      if (opened && Date.now() - openedAt >= this._o.stableAfter) this._attempt = 0;
      if (!opened && refused) this._diagnose(url);
      else this._retry({});
    });
  }

  async _diagnose(url) {
    this.stats.probes++;
    this._emitState('reconnecting', { attempt: this._attempt });
    const r = await probe(url, this._o.probeTimeout);
    if (this._closed) return;
    const code = r.code || null;
    if (r.status === 400 && (code === 'cursor_ahead' || code === 'invalid_cursor')) {
      // The server does not know our cursor (e.g. a new database): start over from now.
      this.cursor = null;
      this._pendingReset = { reason: code };
      this._retry({ status: r.status, code });
    } else if (r.status === 401 || r.status === 403 || r.status === 404 || r.status === 406 || r.status === 400) {
      this._fatal({ status: r.status, code, message: r.message || 'the server refused the stream' });
    } else {
      this._retry({ status: r.status, code, retryAfter: r.retryAfter });
    }
  }

  _retry({ status, code, retryAfter }) {
    let delay = backoffDelay(this._attempt, this._o.baseDelay, this._o.maxDelay);
    this._attempt++;
    if (retryAfter != null) delay = Math.max(delay, retryAfter * 1000 + backoffDelay(0, this._o.baseDelay));
    const info = { attempt: this._attempt, delay };
    if (status != null) info.status = status;
    if (code) info.code = code;
    if (retryAfter != null) info.retryAfter = retryAfter;
    this._emitState('reconnecting', info);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _fatal(err) {
    if (this.role === 'leader') this._post({ t: 'fatal', err });
    this._call('onError', err);
    this.close();
  }

  // ---- delivery ----------------------------------------------------------------------------

  _deliver(ev, fromStream) {
    if (ev.id !== null) {
      if (this._known === null) this._known = ev.id - 1; // connected at "now": nothing of ours came before
      this._ring.push(ev);
      if (this._ring.length > this._o.ringSize) this._known = this._ring.shift().id;
    } else {
      this.stats.transient++;
    }
    this.stats.delivered++;
    if (fromStream && this.role === 'leader') this._post({ t: 'ev', ev });
    this._call('onEvent', ev);
    const handlers = this._o.on;
    if (handlers && typeof handlers[ev.event] === 'function') {
      try {
        handlers[ev.event].call(this, ev);
      } catch (e) {
        report(e);
      }
    }
  }

  _reset(info) {
    // Everything before info.oldest is gone: the stream goes on from the cursor just before it
    // (a tab that takes over the shared connection resumes there, not with another reset).
    if (info && Number.isSafeInteger(info.oldest) && this.cursor !== null && info.oldest - 1 > this.cursor) {
      this.cursor = info.oldest - 1;
    }
    this._ring = [];
    this._known = info && info.oldest != null && this.cursor !== null ? Math.max(this.cursor, info.oldest - 1) : this.cursor;
    if (this.role === 'leader') this._post({ t: 'reset', info });
    this._call('onReset', info);
  }

  _emitState(state, info) {
    const changed = state !== this.state || this._announced !== true;
    this.state = state;
    this._announced = true;
    if (this.role === 'leader') this._post({ t: 'state', state, info });
    if (changed || (info && Object.keys(info).length)) this._call('onState', state, info || {});
  }

  _call(name, ...args) {
    const fn = this._o[name];
    if (typeof fn !== 'function') return;
    try {
      fn.apply(this, args);
    } catch (e) {
      report(e);
    }
  }

  // ---- one connection per browser: leader election and sharing ------------------------------

  _startShared() {
    const token = this._token || cookieToken(this._o.cookieName) || '';
    const name = 'herald:' + this.url + ':' + fingerprint(token);
    this.role = 'follower';
    this._synced = false;
    this._channel = new BroadcastChannel(name);
    this._channel.onmessage = (m) => this._onChannel(m.data || {});
    this._lockAbort = new AbortController();
    navigator.locks.request(name, { signal: this._lockAbort.signal }, () => {
      if (this._closed) return undefined;
      this._lead();
      return new Promise((resolve) => { this._releaseLock = resolve; });
    }).catch(() => { /* aborted by close() */ });
    this._emitState('connecting', {});
    this._hello();
    this._helloTimer = setInterval(() => this._hello(), this._o.helloInterval);
  }

  _post(msg) {
    if (this._channel && !this._closed) this._channel.postMessage(msg);
  }

  _hello() {
    if (this._synced || this.role !== 'follower') {
      clearInterval(this._helloTimer);
      this._helloTimer = null;
      return;
    }
    this._post({ t: 'hello', from: this._id, after: this.cursor });
  }

  _lead() {
    if (this._helloTimer) clearInterval(this._helloTimer);
    this._helloTimer = null;
    this.role = 'leader';
    this._synced = true;
    this._attempt = 0;
    this._emitState(this._subscribed ? 'reconnecting' : 'connecting', {});
    this._post({ t: 'leader' }); // tabs still waiting for an answer ask again at once
    this._connect();
  }

  _onChannel(msg) {
    if (this._closed) return;
    if (this.role === 'leader') {
      if (msg.t === 'hello') this._answer(msg);
      return;
    }
    switch (msg.t) {
      case 'sync':
        if (msg.to !== this._id || this._synced) return;
        this._synced = true;
        this._subscribed = true;
        if (msg.gap) {
          this.cursor = msg.cursor;
          this._emitState(msg.state, {});
          this._reset({ reason: 'gap' });
        } else {
          if (this.cursor === null) {
            this.cursor = msg.cursor;
            this._known = msg.cursor;
          }
          this._emitState(msg.state, {});
          for (const ev of msg.events) this._receive(ev);
        }
        break;
      case 'ev':
        if (this._synced) this._receive(msg.ev);
        break;
      case 'state':
        if (this._synced) this._emitState(msg.state, msg.info || {});
        break;
      case 'reset':
        if (this._synced) this._reset(msg.info);
        break;
      case 'leader':
        if (!this._synced) this._hello();
        break;
      case 'bye':
        if (this._synced) this._emitState('reconnecting', { handover: true });
        break;
      case 'fatal':
        this._call('onError', msg.err);
        this.close();
        break;
      default:
    }
  }

  /** A tab joined: send what it missed from the ring, or tell it to refetch. */
  _answer(hello) {
    const after = hello.after;
    const gap = after !== null && (this._known === null || after < this._known);
    const events = gap || after === null ? [] : this._ring.filter((ev) => ev.id > after);
    this._post({ t: 'sync', to: hello.from, gap, cursor: this.cursor, state: this.state, events });
  }

  _receive(ev) {
    if (ev.id !== null) {
      if (this.cursor !== null && ev.id <= this.cursor) {
        this.stats.duplicates++;
        return;
      }
      this.cursor = ev.id;
    }
    this._deliver(ev, false);
  }
}

/** Subscribes to a Herald SSE endpoint; see the top of this file. */
function subscribe(url, options) {
  return new Subscription(url, options);
}

const Herald = { VERSION, subscribe, Subscription, backoffDelay, cookieToken, safeUrl };

// @herald-module-exports — everything above is also the classic build (/herald.classic.js).
export { VERSION, subscribe, Subscription, backoffDelay, cookieToken, safeUrl };
export default Herald;
