package dev.herald.stream;

/** What the hub reports; ops wires it to Micrometer. */
public interface HubMetrics {
    HubMetrics NONE = rows -> {};

    /** One database fetch for a topic returned this many rows. */
    void fetched(int rows);

    /** Every topic (this many) was told to re-query: pings may have been lost. */
    default void resynced(int topics) {}

    /** One query read the heads of this many streams (a resync checking which ones moved). */
    default void headsQueried(int streams) {}
}
