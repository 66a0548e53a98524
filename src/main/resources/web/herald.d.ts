/*
 * Types of Herald's browser client, GET /herald.js (this file: GET /herald.d.ts).
 *
 * In a TypeScript project, save this file (e.g. as types/herald.d.ts) and map the module to it
 * in tsconfig.json, then import as in the browser:
 *
 *   "compilerOptions": { "paths": { "/herald.js": ["./types/herald.d.ts"] } }
 *
 *   import { subscribe } from "/herald.js";
 *
 * The classic script (/herald.classic.js) sets window.Herald to the default export; type it with
 *   declare const Herald: typeof import("/herald.js").default;
 *
 * Deno picks these types up by itself: /herald.js is served with an X-TypeScript-Types header.
 */

/** The client's version. */
export declare const VERSION: string;

/** What a subscription is doing; onState reports every change. */
export type SubscriptionState = "connecting" | "live" | "reconnecting" | "closed";

/**
 * How this tab receives the stream: its own connection (`direct`), the connection it holds for
 * every tab of the browser (`leader`), or another tab's connection (`follower`).
 */
export type SubscriptionRole = "direct" | "leader" | "follower";

/** A persisted event: it has a cursor (`id:`), is stored, deduplicated and resumed after. */
export interface PersistedEvent<T = unknown> {
    /** The event's cursor in its stream. */
    readonly id: number;
    /** The SSE event name (`event:`), e.g. `notification`, `message`, or a published type. */
    readonly event: string;
    /** `raw` parsed as JSON, or `raw` itself when it is not JSON. */
    readonly data: T;
    readonly transient: false;
    /** The SSE `data:` text as received. */
    readonly raw: string;
    /** When this client received it (`Date.now()`). */
    readonly at: number;
}

/** A transient event (no `id:`, e.g. a chat's worker signals): never stored, never replayed. */
export interface TransientEvent<T = unknown> {
    readonly id: null;
    readonly event: string;
    readonly data: T;
    readonly transient: true;
    readonly raw: string;
    readonly at: number;
}

/** What onEvent and the `on` handlers receive. `data` is whatever the stream sends (default unknown). */
export type HeraldEvent<T = unknown> = PersistedEvent<T> | TransientEvent<T>;

/**
 * Why the caller must refetch its snapshot (the events in between are not replayed):
 * - `cursor_expired`: the server pruned events after the cursor (retention); `oldest` is the oldest kept cursor,
 *   and the subscription's cursor moves to `oldest - 1`;
 * - `resubscribed`: reconnected without a cursor, so the stream started again at "now";
 * - `gap`: this tab joined a shared connection after the events it missed had left the leader's ring;
 * - `cursor_ahead` / `invalid_cursor`: the server refused the cursor (e.g. a new database); the stream starts at "now";
 * - `reset`: the server sent a `reset` event whose data is not a JSON object.
 */
export type ResetReason = "cursor_expired" | "resubscribed" | "gap" | "cursor_ahead" | "invalid_cursor" | "reset";

/** onReset's argument: the server's `reset` event data, or the client's own reason. */
export interface ResetInfo {
    readonly reason: ResetReason;
    /** With `cursor_expired`: the oldest cursor the stream still holds. */
    readonly oldest?: number;
}

/** onState's second argument. Empty (`{}`) for most changes. */
export interface StateInfo {
    /** Reconnect attempts so far in this run of failures. */
    readonly attempt?: number;
    /** Milliseconds until the next attempt. */
    readonly delay?: number;
    /** The HTTP status the server refused the stream with (0: it could not be reached). */
    readonly status?: number;
    /** The API error code of that refusal, e.g. `too_many_requests`. */
    readonly code?: string;
    /** The refusal's Retry-After, in seconds (429, 503); the delay honours it. */
    readonly retryAfter?: number;
    /** The leader tab closed; another tab takes over its connection. */
    readonly handover?: true;
}

/** onError's argument: the server refused the stream for good (401, 403, 404, 406, 400); the subscription is closed. */
export interface HeraldError {
    readonly status: number;
    /** The API error code (e.g. `unauthorized`), or null when the body was not an API error. */
    readonly code: string | null;
    readonly message: string;
}

/** Counters of one subscription (this tab's view). */
export interface SubscriptionStats {
    readonly connects: number;
    readonly failures: number;
    readonly delivered: number;
    readonly duplicates: number;
    readonly transient: number;
    readonly probes: number;
}

/** Handlers are called with the subscription as `this`; an exception in one is reported, never rethrown. */
export interface SubscribeOptions<T = unknown> {
    /** The token; optional on the same origin when the `herald_token` cookie holds it. */
    token?: string | null;
    /** Start after this cursor (a non-negative integer or its decimal string); without it the stream starts at "now". */
    after?: number | string | null;
    /**
     * Event names to listen to (an EventSource reports only names it listens to). Defaults to
     * the names of every Herald SSE endpoint except /api/v1/events, whose types are open-ended.
     * `message` is always included.
     */
    events?: readonly string[];
    /** Without a cursor, start at the stream's beginning instead of "now" (default: true for /api/v1/chats/{id}/stream only). */
    fromBeginning?: boolean;
    /** Every event, persisted or transient, after deduplication by cursor. */
    onEvent?: (this: Subscription<T>, ev: HeraldEvent<T>) => void;
    /** Per event name, after onEvent. */
    on?: { readonly [event: string]: (this: Subscription<T>, ev: HeraldEvent<T>) => void };
    /** Refetch your snapshot: events were missed and will not be replayed. */
    onReset?: (this: Subscription<T>, info: ResetInfo) => void;
    onState?: (this: Subscription<T>, state: SubscriptionState, info: StateInfo) => void;
    /** Fatal: the subscription is closed. */
    onError?: (this: Subscription<T>, err: HeraldError) => void;
    /** One connection per stream and token for every tab of the browser (default true). */
    shared?: boolean;
    /** Milliseconds: the first retry waits 0..baseDelay, then 0..2×, 0..4× … (default 1000). */
    baseDelay?: number;
    /** Milliseconds: the cap of the exponential part (default 30000). */
    maxDelay?: number;
    /** Milliseconds a connection must stay open for the next failure to start over at attempt 0 (default 5000). */
    stableAfter?: number;
    /** Recent persisted events kept for recent() and for tabs joining (default 200). */
    ringSize?: number;
    /** Milliseconds the fetch() asking why a connection failed may take (default 5000). */
    probeTimeout?: number;
    /** Milliseconds between a new tab's asks for the leader (default 1000). */
    helloInterval?: number;
    /** The cookie holding the token (default `herald_token`). */
    cookieName?: string;
}

/** A live subscription to one Herald SSE endpoint; it reconnects and resumes by itself until close(). */
export declare class Subscription<T = unknown> {
    constructor(url: string | URL, options?: SubscribeOptions<T>);
    /** The endpoint's absolute URL, without `after` and `access_token`. */
    readonly url: string;
    /** The last persisted event's cursor; null before the first one when no `after` was given. */
    readonly cursor: number | null;
    readonly state: SubscriptionState;
    readonly role: SubscriptionRole;
    readonly stats: SubscriptionStats;
    /** The recent persisted events, oldest first (at most ringSize). */
    recent(): PersistedEvent<T>[];
    /** Ends the subscription (state `closed`); calling it again does nothing. */
    close(): void;
}

/** Subscribes to a Herald SSE endpoint (`/api/v1/inbox/watch`, `/api/v1/chats/{id}/stream`, …). */
export declare function subscribe<T = unknown>(url: string | URL, options?: SubscribeOptions<T>): Subscription<T>;

/** Full jitter: a random whole number of milliseconds in [0, min(cap, base × 2^attempt)). */
export declare function backoffDelay(attempt: number, base?: number, cap?: number, random?: () => number): number;

/** The token in this origin's cookie `name` (default `herald_token`), or null. */
export declare function cookieToken(name?: string): string | null;

/**
 * `url` itself when it is safe to render as a link (an absolute http(s) URL or a reference
 * without a scheme, resolved against `base` or the page), else null.
 */
export declare function safeUrl(url: unknown, base?: string | URL): string | null;

declare const Herald: {
    readonly VERSION: typeof VERSION;
    readonly subscribe: typeof subscribe;
    readonly Subscription: typeof Subscription;
    readonly backoffDelay: typeof backoffDelay;
    readonly cookieToken: typeof cookieToken;
    readonly safeUrl: typeof safeUrl;
};
export default Herald;
