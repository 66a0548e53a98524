package dev.herald.inbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Inbox notifications over HTTP (API.md section 1): create, validation, list, read state, isolation. */
class TestInbox {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static JsonNode create(String token, String user, Map<String, ?> body) {
        Api.Response r = server.api().post("/api/v1/users/" + user + "/inbox", token, body);
        assertEquals(201, r.status(), r.toString());
        return r.json();
    }

    static JsonNode create(String token, String user, String title, String... targets) {
        return create(token, user, Map.of("title", title, "targets", List.of(targets)));
    }

    static List<String> titles(JsonNode list) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : list.get("notifications")) out.add(n.get("title").asText());
        return out;
    }

    static JsonNode list(String token, String query) {
        Api.Response r = server.api().get("/api/v1/inbox" + query, token);
        assertEquals(200, r.status(), r.toString());
        return r.json();
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    // ---- create ----

    @Test
    void creating_returns_201_with_the_whole_notification(Api api) {
        String token = api.userToken("acme", "shape");
        Map<String, Object> body = Map.of(
                "title", "Build finished",
                "content", "All 42 tests passed.",
                "icon", "https://cdn.example.com/ok.png",
                "targets", List.of("ci", "builds", "ci"),
                "actions",
                        List.of(
                                Map.of("label", "Open", "url", "https://ci.example.com/b/1", "ignored", 1),
                                Map.of("label", "Logs", "url", "/builds/1/logs")));
        Api.Response r = api.post("/api/v1/users/shape/inbox", token, body);
        assertEquals(201, r.status(), r.toString());
        assertTrue(r.header("Content-Type").startsWith("application/json"));
        JsonNode n = r.json();
        assertEquals(
                List.of(
                        "id",
                        "cursor",
                        "user",
                        "title",
                        "content",
                        "icon",
                        "targets",
                        "actions",
                        "read_at",
                        "created_at"),
                fieldNames(n));
        UUID.fromString(n.get("id").asText());
        assertEquals(1, n.get("cursor").asLong());
        assertEquals("shape", n.get("user").asText());
        assertEquals("Build finished", n.get("title").asText());
        assertEquals("All 42 tests passed.", n.get("content").asText());
        assertEquals("https://cdn.example.com/ok.png", n.get("icon").asText());
        assertEquals("[\"ci\",\"builds\"]", n.get("targets").toString(), "duplicates dropped, order kept");
        assertEquals(
                "[{\"label\":\"Open\",\"url\":\"https://ci.example.com/b/1\"},{\"label\":\"Logs\",\"url\":\"/builds/1/logs\"}]",
                n.get("actions").toString());
        assertTrue(n.get("read_at").isNull());
        assertTrue(
                n.get("created_at").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z"),
                n.get("created_at").asText());

        JsonNode minimal = create(token, "shape", Map.of("title", "Just a title"));
        assertEquals(2, minimal.get("cursor").asLong());
        assertTrue(minimal.get("content").isNull());
        assertTrue(minimal.get("icon").isNull());
        assertEquals(0, minimal.get("targets").size());
        assertEquals(0, minimal.get("actions").size());

        JsonNode listed = list(token, "");
        assertEquals(minimal, listed.get("notifications").get(0));
        assertEquals(n, listed.get("notifications").get(1), "the list shows exactly what the create returned");
        assertEquals(2, listed.get("unread_count").asLong());
    }

    static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void who_may_create_tenant_tokens_for_any_user_user_tokens_only_for_themselves(Api api) {
        String tenantWide = api.mint("acme", null, "events:write");
        create(tenantWide, "who-a", "from the backend");
        String bob = api.userToken("acme", "who-b");
        Api.Response other = api.post("/api/v1/users/who-a/inbox", bob, Map.of("title", "x"));
        assertEquals(403, other.status(), other.toString());
        String readOnly = api.mint("acme", "who-a", "events:read");
        assertEquals(
                403,
                api.post("/api/v1/users/who-a/inbox", readOnly, Map.of("title", "x"))
                        .status());
        assertEquals(
                401,
                api.post("/api/v1/users/who-a/inbox", null, Map.of("title", "x"))
                        .status());
        assertEquals(
                401,
                api.post("/api/v1/users/who-a/inbox", "not-a-token", Map.of("title", "x"))
                        .status());
        Api.Response operator = api.post("/api/v1/users/who-a/inbox", TestServer.ADMIN_TOKEN, Map.of("title", "x"));
        assertEquals(403, operator.status(), operator.toString());
        Api.Response badUser = api.post("/api/v1/users/bad%20user/inbox", tenantWide, Map.of("title", "x"));
        assertEquals(400, badUser.status(), badUser.toString());
        assertEquals(
                1,
                list(api.userToken("acme", "who-a"), "").get("notifications").size(),
                "only the allowed create landed");
    }

    @Test
    void every_invalid_field_is_a_400_with_a_json_error_and_nothing_is_created(Api api) {
        String token = api.userToken("acme", "invalid");
        String path = "/api/v1/users/invalid/inbox";
        Map<Object, String> cases = new java.util.LinkedHashMap<>();
        cases.put(Map.of(), "missing_field");
        cases.put(Map.of("content", "no title"), "missing_field");
        cases.put(Map.of("title", 5), "invalid_field");
        cases.put(Map.of("title", ""), "invalid_field");
        cases.put(Map.of("title", " \t\n "), "invalid_field");
        cases.put(Map.of("title", "x".repeat(257)), "invalid_field");
        cases.put(Map.of("title", "a\u0000b"), "invalid_field");
        cases.put(Map.of("title", "t", "content", "x".repeat(8193)), "invalid_field");
        cases.put(Map.of("title", "t", "content", "é".repeat(4097)), "invalid_field"); // 8194 bytes
        cases.put(Map.of("title", "t", "content", List.of("not", "text")), "invalid_field");
        cases.put(Map.of("title", "t", "icon", "i".repeat(2049)), "invalid_field");
        cases.put(Map.of("title", "t", "icon", 3), "invalid_field");
        cases.put(Map.of("title", "t", "targets", "ci"), "invalid_field");
        cases.put(Map.of("title", "t", "targets", List.of(1)), "invalid_field");
        cases.put(Map.of("title", "t", "targets", List.of("")), "invalid_field");
        cases.put(Map.of("title", "t", "targets", List.of("a,b")), "invalid_field");
        cases.put(Map.of("title", "t", "targets", List.of("x".repeat(129))), "invalid_field");
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 33; i++) many.add("t" + i);
        cases.put(Map.of("title", "t", "targets", many), "invalid_field");
        cases.put(Map.of("title", "t", "actions", Map.of("label", "a", "url", "/a")), "invalid_field");
        cases.put(Map.of("title", "t", "actions", List.of("/a")), "invalid_field");
        cases.put(Map.of("title", "t", "actions", List.of(Map.of("url", "/a"))), "missing_field");
        cases.put(Map.of("title", "t", "actions", List.of(Map.of("label", "a"))), "missing_field");
        cases.put(Map.of("title", "t", "actions", List.of(Map.of("label", "", "url", "/a"))), "invalid_field");
        cases.put(Map.of("title", "t", "actions", List.of(Map.of("label", "a", "url", 7))), "invalid_field");
        List<Map<String, String>> eleven = new ArrayList<>();
        for (int i = 0; i < 11; i++) eleven.add(Map.of("label", "a" + i, "url", "/a"));
        cases.put(Map.of("title", "t", "actions", eleven), "invalid_field");
        for (String bad : List.of(
                "javascript:alert(1)",
                "JavaScript:alert(1)",
                "data:text/html,<script>alert(1)</script>",
                "vbscript:msgbox",
                "file:///etc/passwd",
                "ftp://example.com/x",
                "mailto:a@example.com",
                "java\nscript:alert(1)",
                "java\tscript:alert(1)",
                " javascript:alert(1)",
                "\u0001javascript:alert(1)",
                "http:/no-host",
                "https:no-slashes",
                "http://",
                "/path with space",
                "\\\\evil.example.com",
                "//evil.example/x",
                "///evil.example/x",
                "",
                "/" + "a".repeat(2048))) {
            cases.put(Map.of("title", "t", "actions", List.of(Map.of("label", "go", "url", bad))), "invalid_field");
        }
        for (var c : cases.entrySet()) {
            Api.Response r = api.post(path, token, c.getKey());
            assertEquals(400, r.status(), c.getKey() + " -> " + r);
            assertEquals(c.getValue(), r.errorCode(), c.getKey() + " -> " + r);
            assertFalse(r.json().path("error").path("message").asText().isEmpty());
        }
        Api.Response malformed = api.post(path, token, "{\"title\": ");
        assertEquals(400, malformed.status());
        assertEquals("invalid_json", malformed.errorCode());
        assertEquals("invalid_json", api.post(path, token, "[1,2]").errorCode());
        Api.Response huge = api.post(path, token, Map.of("title", "t", "content", "x".repeat(70_000)));
        assertEquals(413, huge.status(), huge.toString());
        assertEquals(0, list(token, "").get("notifications").size());
        assertEquals(0, list(token, "").get("unread_count").asLong());
    }

    @Test
    void limits_are_inclusive_and_allowed_urls_pass(Api api) {
        String token = api.userToken("acme", "limits");
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 32; i++) targets.add("t" + i);
        List<Map<String, String>> actions = new ArrayList<>();
        for (String ok : List.of(
                "https://example.com/a?b=c#d",
                "HTTP://EXAMPLE.COM",
                "/relative/path",
                "relative/path?x=1",
                "../up",
                "#fragment",
                "?query=1",
                "1abc:colon-not-a-scheme",
                "/" + "a".repeat(2047))) {
            actions.add(Map.of("label", "l", "url", ok));
        }
        JsonNode n = create(
                token,
                "limits",
                Map.of(
                        "title", "🔔".repeat(256), // 256 characters, 512 UTF-16 units
                        "content", "é".repeat(4096), // exactly 8 KiB of UTF-8
                        "icon", "i".repeat(2048),
                        "targets", targets,
                        "actions", actions.subList(0, 9)));
        assertEquals(
                256,
                n.get("title")
                        .asText()
                        .codePointCount(0, n.get("title").asText().length()));
        assertEquals(32, n.get("targets").size());
        assertEquals(9, n.get("actions").size());
        assertEquals(
                "1abc:colon-not-a-scheme", n.get("actions").get(7).get("url").asText());
    }

    // ---- list ----

    @Test
    void list_filters_by_read_status_and_by_all_listed_targets(Api api) {
        String token = api.userToken("acme", "filters");
        create(token, "filters", "n1", "ci");
        JsonNode n2 = create(token, "filters", "n2", "ci", "deploy");
        create(token, "filters", "n3", "billing");
        JsonNode n4 = create(token, "filters", "n4", "deploy", "ci", "prod");
        create(token, "filters", "n5");
        assertEquals(
                200,
                api.put("/api/v1/inbox/" + n2.get("id").asText() + "/read-status", token, Map.of("is_read", true))
                        .status());
        assertEquals(
                200,
                api.put("/api/v1/inbox/" + n4.get("id").asText() + "/read-status", token, Map.of("is_read", true))
                        .status());

        assertEquals(List.of("n5", "n4", "n3", "n2", "n1"), titles(list(token, "")));
        assertEquals(List.of("n5", "n4", "n3", "n2", "n1"), titles(list(token, "?read_status=all")));
        assertEquals(List.of("n4", "n2"), titles(list(token, "?read_status=read")));
        assertEquals(List.of("n5", "n3", "n1"), titles(list(token, "?read_status=unread")));
        assertEquals(List.of("n4", "n2", "n1"), titles(list(token, "?targets=ci")));
        assertEquals(List.of("n4", "n2"), titles(list(token, "?targets=ci,deploy")));
        assertEquals(List.of("n4", "n2"), titles(list(token, "?targets=deploy,ci")));
        assertEquals(List.of("n4"), titles(list(token, "?targets=ci,deploy,prod")));
        assertEquals(List.of(), titles(list(token, "?targets=ci,billing")));
        assertEquals(List.of(), titles(list(token, "?targets=nobody-uses-this")));
        assertEquals(List.of("n1"), titles(list(token, "?targets=ci&read_status=unread")));
        assertEquals(List.of("n4", "n2"), titles(list(token, "?targets=ci&read_status=read")));
        assertEquals(List.of("n4"), titles(list(token, "?targets=ci,prod&read_status=read")));
        assertEquals(
                List.of("n2", "n1"),
                titles(list(token, "?targets=ci&starting_before=" + n4.get("id").asText())));
        for (String q : List.of("", "?read_status=read", "?targets=ci")) {
            assertEquals(3, list(token, q).get("unread_count").asLong(), "unread_count ignores the filters: " + q);
        }
    }

    @Test
    void bad_list_parameters_are_400(Api api) {
        String token = api.userToken("acme", "badparams");
        JsonNode mine = create(token, "badparams", "mine");
        JsonNode theirs = create(api.userToken("acme", "badparams-other"), "badparams-other", "theirs");
        JsonNode otherTenant = create(api.userToken("globex", "badparams"), "badparams", "other tenant");
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("?read_status=unseen", "invalid_read_status");
        cases.put("?read_status=ALL", "invalid_read_status");
        cases.put("?limit=0", "invalid_limit");
        cases.put("?limit=101", "invalid_limit");
        cases.put("?limit=-1", "invalid_limit");
        cases.put("?limit=ten", "invalid_limit");
        cases.put("?targets=a,,b", "invalid_targets");
        cases.put("?targets=a,", "invalid_targets");
        cases.put("?targets=" + "x".repeat(129), "invalid_targets");
        cases.put("?targets=a,b,c,d,e,f,g", "invalid_targets");
        cases.put("?starting_before=not-a-uuid", "invalid_starting_before");
        cases.put("?starting_before=1-2-3-4-5", "invalid_starting_before");
        cases.put("?starting_before=" + UUID.randomUUID(), "invalid_starting_before");
        cases.put("?starting_before=" + theirs.get("id").asText(), "invalid_starting_before");
        cases.put("?starting_before=" + otherTenant.get("id").asText(), "invalid_starting_before");
        for (var c : cases.entrySet()) {
            Api.Response r = api.get("/api/v1/inbox" + c.getKey(), token);
            assertEquals(400, r.status(), c.getKey() + " -> " + r);
            assertEquals(c.getValue(), r.errorCode(), c.getKey() + " -> " + r);
        }
        assertEquals(
                api.get("/api/v1/inbox?starting_before=" + UUID.randomUUID(), token)
                        .body(),
                api.get("/api/v1/inbox?starting_before=" + theirs.get("id").asText(), token)
                        .body(),
                "another user's id answers exactly like an unknown one");
        assertEquals(List.of(), titles(list(token, "?targets=a,b,c,d,e,f")), "six targets are fine");
        assertEquals(List.of("mine"), titles(list(token, "?limit=100")));
        assertEquals(List.of("mine"), titles(list(token, "?limit=1")));
        assertEquals(
                List.of(),
                titles(list(token, "?starting_before=" + mine.get("id").asText().toUpperCase())));
    }

    @Test
    void keyset_pages_walk_newest_first_with_exact_boundaries_and_an_empty_page_at_the_end(Api api) {
        String token = api.userToken("acme", "pages");
        assertEquals(List.of(), titles(list(token, "")), "an empty inbox is an empty page");
        assertEquals(0, list(token, "").get("unread_count").asLong());
        List<JsonNode> made = new ArrayList<>();
        for (int i = 1; i <= 30; i++) made.add(create(token, "pages", "p" + i));

        // Default limit 25, then the last partial page.
        JsonNode first = list(token, "");
        assertEquals(25, first.get("notifications").size());
        assertEquals("p30", titles(first).getFirst());
        assertEquals("p6", titles(first).getLast());
        JsonNode rest = list(
                token,
                "?starting_before="
                        + first.get("notifications").get(24).get("id").asText());
        assertEquals(List.of("p5", "p4", "p3", "p2", "p1"), titles(rest));

        // Exact boundary: 30 = 3 pages of 10, then one empty page.
        List<String> seen = new ArrayList<>();
        String before = null;
        for (int pageNo = 0; pageNo < 10; pageNo++) {
            JsonNode page = list(token, "?limit=10" + (before == null ? "" : "&starting_before=" + before));
            int size = page.get("notifications").size();
            if (pageNo < 3) assertEquals(10, size, "page " + pageNo);
            else {
                assertEquals(0, size, "after the last full page comes an empty one");
                break;
            }
            seen.addAll(titles(page));
            before = page.get("notifications").get(size - 1).get("id").asText();
        }
        List<String> expected = new ArrayList<>();
        for (int i = 30; i >= 1; i--) expected.add("p" + i);
        assertEquals(expected, seen, "every notification exactly once, newest first");

        // Starting before the oldest: empty. Starting before the newest: everything else.
        assertEquals(
                List.of(),
                titles(list(
                        token, "?starting_before=" + made.getFirst().get("id").asText())));
        assertEquals(
                29,
                list(
                                token,
                                "?limit=100&starting_before="
                                        + made.getLast().get("id").asText())
                        .get("notifications")
                        .size());

        // Pages of the unread subset, read in the middle meanwhile, still have no duplicates.
        for (int i = 0; i < 30; i += 2) {
            api.put("/api/v1/inbox/" + made.get(i).get("id").asText() + "/read-status", token, Map.of("is_read", true));
        }
        JsonNode u1 = list(token, "?read_status=unread&limit=7");
        assertEquals(List.of("p30", "p28", "p26", "p24", "p22", "p20", "p18"), titles(u1));
        JsonNode u2 = list(
                token,
                "?read_status=unread&limit=7&starting_before="
                        + u1.get("notifications").get(6).get("id").asText());
        assertEquals(List.of("p16", "p14", "p12", "p10", "p8", "p6", "p4"), titles(u2));
        JsonNode u3 = list(
                token,
                "?read_status=unread&limit=7&starting_before="
                        + u2.get("notifications").get(6).get("id").asText());
        assertEquals(List.of("p2"), titles(u3));
        assertEquals(15, u3.get("unread_count").asLong());
        // A read notification's id is a fine starting point for the unread list too.
        assertEquals(
                List.of("p2"),
                titles(list(
                        token,
                        "?read_status=unread&starting_before="
                                + made.get(2).get("id").asText())));
    }

    @Test
    void the_list_is_own_user_only_and_needs_events_read(Api api) {
        String token = api.userToken("acme", "own");
        create(token, "own", "mine");
        create(api.userToken("acme", "own-other"), "own-other", "not mine");
        create(api.userToken("globex", "own"), "own", "other tenant, same user name");
        assertEquals(List.of("mine"), titles(list(token, "")));
        assertEquals(1, list(token, "").get("unread_count").asLong());
        assertEquals(
                403,
                api.get("/api/v1/inbox", api.mint("acme", null, "events:read")).status(),
                "a token without a user has no inbox");
        assertEquals(
                403,
                api.get("/api/v1/inbox", api.mint("acme", "own", "events:write"))
                        .status());
        assertEquals(403, api.get("/api/v1/inbox", TestServer.ADMIN_TOKEN).status());
        assertEquals(401, api.get("/api/v1/inbox", null).status());
    }

    // ---- read state ----

    @Test
    void read_status_marks_read_and_unread_and_a_repeat_changes_nothing(Api api) {
        String token = api.userToken("acme", "marker");
        JsonNode a = create(token, "marker", "a");
        create(token, "marker", "b");
        String path = "/api/v1/inbox/" + a.get("id").asText() + "/read-status";

        Api.Response read = api.put(path, token, Map.of("is_read", true));
        assertEquals(200, read.status(), read.toString());
        JsonNode r = read.json();
        assertEquals(a.get("id"), r.get("id"));
        assertEquals(a.get("cursor"), r.get("cursor"));
        assertEquals(a.get("title"), r.get("title"));
        assertEquals(a.get("created_at"), r.get("created_at"));
        assertTrue(r.get("read_at").asText().endsWith("Z"));
        assertEquals(1, list(token, "").get("unread_count").asLong());

        JsonNode again = api.put(path, token, Map.of("is_read", true)).json();
        assertEquals(r.get("read_at"), again.get("read_at"), "marking read twice keeps the first read time");
        assertEquals(1, list(token, "").get("unread_count").asLong());

        JsonNode unread = api.put(path, token, Map.of("is_read", false)).json();
        assertTrue(unread.get("read_at").isNull());
        assertEquals(2, list(token, "").get("unread_count").asLong());
        assertTrue(api.put(
                        path.replace(a.get("id").asText(), a.get("id").asText().toUpperCase()),
                        token,
                        Map.of("is_read", false))
                .json()
                .get("read_at")
                .isNull());

        assertEquals("missing_field", api.put(path, token, Map.of()).errorCode());
        assertEquals(
                "invalid_field", api.put(path, token, Map.of("is_read", "yes")).errorCode());
        assertEquals("invalid_field", api.put(path, token, Map.of("is_read", 1)).errorCode());
        assertEquals("invalid_json", api.put(path, token, "{").errorCode());
        assertEquals("invalid_json", api.put(path, token, null).errorCode());
        assertEquals(2, list(token, "").get("unread_count").asLong());
    }

    @Test
    void another_users_or_tenants_or_a_malformed_id_is_404_and_reveals_nothing(Api api) {
        String alice = api.userToken("acme", "iso-alice");
        String bob = api.userToken("acme", "iso-bob");
        String globexAlice = api.userToken("globex", "iso-alice");
        JsonNode alices = create(alice, "iso-alice", "alice's");
        create(bob, "iso-bob", "bob's");
        String id = alices.get("id").asText();

        Api.Response unknown =
                api.put("/api/v1/inbox/" + UUID.randomUUID() + "/read-status", bob, Map.of("is_read", true));
        assertEquals(404, unknown.status());
        assertEquals("not_found", unknown.errorCode());
        for (String other : List.of(bob, globexAlice)) {
            Api.Response r = api.put("/api/v1/inbox/" + id + "/read-status", other, Map.of("is_read", true));
            assertEquals(404, r.status(), r.toString());
            assertEquals(unknown.body(), r.body(), "indistinguishable from an unknown id");
        }
        String noInboxYet = api.userToken("initech", "iso-nobody");
        assertEquals(
                unknown.body(),
                api.put("/api/v1/inbox/" + id + "/read-status", noInboxYet, Map.of("is_read", true))
                        .body());
        for (String bad : List.of("not-a-uuid", "1-2-3-4-5", "123", id + "0", "%20")) {
            Api.Response r = api.put("/api/v1/inbox/" + bad + "/read-status", alice, Map.of("is_read", true));
            assertEquals(404, r.status(), bad + " -> " + r);
            assertEquals("not_found", r.errorCode());
        }
        assertEquals(1, list(alice, "").get("unread_count").asLong(), "nobody else could change alice's notification");
        assertTrue(list(alice, "").get("notifications").get(0).get("read_at").isNull());

        // Mark-all-read of other users leaves alice alone.
        assertEquals(204, api.put("/api/v1/inbox/mark-all-read", bob, null).status());
        assertEquals(
                204, api.put("/api/v1/inbox/mark-all-read", globexAlice, null).status());
        assertEquals(1, list(alice, "").get("unread_count").asLong());
        // Read state is the user's own: events:read suffices (a browser's read-only token), a
        // write-only token is not enough, and a token needs a user.
        String readOnly = api.mint("acme", "iso-alice", "events:read");
        assertEquals(
                200,
                api.put("/api/v1/inbox/" + id + "/read-status", readOnly, Map.of("is_read", true))
                        .status());
        assertEquals(204, api.put("/api/v1/inbox/mark-all-read", readOnly, null).status());
        assertEquals(
                403,
                api.put("/api/v1/inbox/mark-all-read", api.mint("acme", "iso-alice", "events:write"), null)
                        .status());
        assertEquals(
                403,
                api.put("/api/v1/inbox/mark-all-read", api.mint("acme", null, "events:read"), null)
                        .status());
        assertEquals(401, api.put("/api/v1/inbox/mark-all-read", null, null).status());
    }

    @Test
    void mark_all_read_reads_everything_and_is_204_even_when_nothing_is_unread(Api api) {
        String token = api.userToken("acme", "markall");
        assertEquals(204, api.put("/api/v1/inbox/mark-all-read", token, null).status(), "an empty inbox");
        for (int i = 0; i < 5; i++) create(token, "markall", "m" + i);
        assertEquals(5, list(token, "").get("unread_count").asLong());
        Api.Response r = api.put("/api/v1/inbox/mark-all-read", token, null);
        assertEquals(204, r.status(), r.toString());
        assertEquals("", r.body());
        JsonNode all = list(token, "");
        assertEquals(0, all.get("unread_count").asLong());
        String readAt = all.get("notifications").get(0).get("read_at").asText();
        for (JsonNode n : all.get("notifications"))
            assertEquals(readAt, n.get("read_at").asText(), "one read time for all");
        assertEquals(List.of(), titles(list(token, "?read_status=unread")));
        assertEquals(
                204,
                api.put("/api/v1/inbox/mark-all-read", token, Map.of("ignored", true))
                        .status());
        create(token, "markall", "after");
        assertEquals(List.of("after"), titles(list(token, "?read_status=unread")));
        assertEquals(1, list(token, "").get("unread_count").asLong());
    }
}
