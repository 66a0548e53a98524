// How a TypeScript page uses /herald.js with the types of /herald.d.ts. Never run: compiled with
// `tsc --noEmit --strict` (dev.herald.browser.TestTypeScriptClient); tsconfig.json maps
// "/herald.js" to src/main/resources/web/herald.d.ts as a project would map its saved copy.
// Each @ts-expect-error line must fail to compile: the types are as strict as the client.

import Herald, {
  VERSION,
  Subscription,
  backoffDelay,
  cookieToken,
  safeUrl,
  subscribe,
  type HeraldError,
  type HeraldEvent,
  type PersistedEvent,
  type ResetInfo,
  type StateInfo,
  type SubscribeOptions,
  type SubscriptionRole,
  type SubscriptionState,
} from "/herald.js";

// ---- the inbox page's way: known payloads, per-event handlers --------------------------------

interface Notification {
  id: string;
  title: string;
  read_at: string | null;
}
type InboxData =
  | { notification: Notification; unread_count: number }
  | { unread_count: number; id?: string; read_at: string | null; all?: true };

function isNotification(data: InboxData): data is { notification: Notification; unread_count: number } {
  return "notification" in data;
}

const seen: Notification[] = [];
let unread = 0;

const inbox = subscribe<InboxData>("/api/v1/inbox/watch", {
  token: cookieToken(), // null: none (the cookie is sent anyway on the same origin)
  after: 41,
  onEvent(ev) {
    unread = ev.data.unread_count;
    if (!ev.transient) {
      const cursor: number = ev.id; // a persisted event has a cursor
      console.log(cursor, this.cursor);
    }
  },
  on: {
    notification(ev) {
      if (isNotification(ev.data)) seen.push(ev.data.notification);
    },
    read_status: (ev) => console.log(ev.event, ev.raw, ev.at),
  },
  onReset(info) {
    switch (info.reason) {
      case "cursor_expired":
        console.log("refetch; the oldest kept cursor is", info.oldest);
        break;
      case "resubscribed":
      case "gap":
      case "cursor_ahead":
      case "invalid_cursor":
      case "reset":
        console.log("refetch");
        break;
      default: {
        const never: never = info.reason; // every reason is handled above
        throw new Error(never);
      }
    }
  },
  onState(state, info) {
    const label: Record<SubscriptionState, string> = {
      connecting: "Connecting",
      live: "Live",
      reconnecting: "Reconnecting",
      closed: "Offline",
    };
    console.log(label[state], info.attempt, info.delay, info.status, info.code, info.retryAfter, info.handover);
  },
  onError(err) {
    console.log(err.status, err.code?.toUpperCase(), err.message);
    this.close(); // already closed: does nothing
  },
  shared: true,
  baseDelay: 1000,
  maxDelay: 30000,
  ringSize: 200,
});

const role: SubscriptionRole = inbox.role;
const state: SubscriptionState = inbox.state;
const cursor: number | null = inbox.cursor;
const url: string = inbox.url;
console.log(role, state, cursor, url, inbox.stats.delivered + inbox.stats.duplicates, unread);
const recent: PersistedEvent<InboxData>[] = inbox.recent();
console.log(recent.map((ev) => ev.id + 1));
inbox.close();

// ---- a chat stream: untyped data, transient worker signals, every option ---------------------

const options: SubscribeOptions = {
  token: null,
  after: "7",
  events: ["message", "status", "deleted"],
  fromBeginning: true,
  stableAfter: 5000,
  probeTimeout: 5000,
  helloInterval: 1000,
  cookieName: "herald_token",
  onEvent(ev: HeraldEvent) {
    if (ev.transient) {
      const none: null = ev.id;
      console.log("signal", ev.event, none);
    }
    const data: unknown = ev.data;
    if (typeof data === "object" && data !== null && "chat_id" in data) console.log(data.chat_id);
  },
};
const chat = new Subscription(new URL("https://herald.example/api/v1/chats/0b7e/stream"), options);
chat.close();

// ---- the rest of the module ------------------------------------------------------------------

const delay: number = backoffDelay(3) + backoffDelay(0, 500, 10_000, () => 0.5);
const link: string | null = safeUrl("/invoices/42") ?? safeUrl(new URL("https://x.example/").href, "https://x.example/");
const version: string = VERSION;
const again: Subscription = Herald.subscribe("/api/v1/config/watch");
again.close();
const same: typeof subscribe = Herald.subscribe;
const cls: typeof Subscription = Herald.Subscription;
const handlers: [ResetInfo?, StateInfo?, HeraldError?] = [];
console.log(delay, link, version, same, cls, handlers, Herald.VERSION, Herald.backoffDelay(1), Herald.cookieToken("x"));
console.log(Herald.safeUrl(42));

// ---- what the types refuse -------------------------------------------------------------------

subscribe("/api/v1/events", {
  onEvent(ev) {
    // @ts-expect-error a transient event has no cursor: check ev.transient first
    ev.id.toFixed();
    // @ts-expect-error data is unknown until the caller says what the stream sends
    ev.data.anything;
  },
  // @ts-expect-error not a state
  onState: (state: "open") => console.log(state),
  // @ts-expect-error a cursor is a number or a decimal string
  after: true,
});

// @ts-expect-error the subscription keeps its own cursor
inbox.cursor = 3;
// @ts-expect-error the state changes only by itself
inbox.state = "live";
// @ts-expect-error no such option
subscribe("/api/v1/events", { retries: 3 });
// @ts-expect-error a URL is needed
subscribe();
// @ts-expect-error the reasons are a closed set
const bad: ResetInfo = { reason: "other" };
console.log(bad);
