package dev.herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * GET /api/v1/openapi.json (API.md 7.2): served without a token, a valid OpenAPI 3.1 document,
 * in agreement with the routes the server answers (both ways), and with what they answer:
 * responses, SSE events and request bodies are checked against the document's schemas.
 */
class TestOpenApi {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static final Duration WAIT = Duration.ofSeconds(10);
    static final String DOC = OpenApiRoutes.PATH;
    static OpenApiContract contract;

    @BeforeAll
    static void load() {
        Api.Response r = server.api().get(DOC, null);
        assertEquals(200, r.status(), r.toString());
        contract = new OpenApiContract(r.json());
    }

    // ------------------------------------------------------------------ the document itself

    @Test
    void is_served_without_a_token_as_json_with_an_etag(Api api) throws Exception {
        Api.Response r = api.get(DOC, null);
        assertEquals(200, r.status());
        assertTrue(r.header("Content-Type").startsWith("application/json"), r.header("Content-Type"));
        assertEquals("no-cache", r.header("Cache-Control"));
        String etag = r.header("ETag");
        assertNotNull(etag);
        Api.Response again = api.send("GET", DOC, null, null, Map.of("If-None-Match", etag));
        assertEquals(304, again.status());
        assertEquals("", again.body());
        // What is served is docs/openapi.yaml, as JSON.
        JsonNode source = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(Path.of("docs/openapi.yaml")));
        assertEquals(source, r.json());
    }

    @Test
    void swagger_parser_reads_it_as_openapi_3_1_without_messages(Api api) {
        String body = api.get(DOC, null).body();
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(body, null, options);
        assertNotNull(result.getOpenAPI(), String.valueOf(result.getMessages()));
        assertEquals(List.of(), result.getMessages());
        assertTrue(
                result.getOpenAPI().getOpenapi().startsWith("3.1."),
                result.getOpenAPI().getOpenapi());
        assertTrue(result.isOpenapi31());
        // Every SSE endpoint describes its events.
        result.getOpenAPI().getPaths().forEach((path, item) -> {
            if (item.getGet() == null) return;
            var ok = item.getGet().getResponses().get("200");
            if (ok == null || ok.getContent() == null) return;
            var sse = ok.getContent().get("text/event-stream");
            if (sse != null) {
                assertNotNull(sse.getExtensions(), path);
                assertTrue(sse.getExtensions().get("x-sse-events") instanceof Map<?, ?> m && !m.isEmpty(), path);
            }
        });
    }

    /** Every schema stays within the keywords the tests' checker evaluates (none is skipped). */
    @Test
    void every_schema_uses_only_keywords_the_tests_check() {
        List<String> roots = contract.schemaRoots();
        assertTrue(roots.size() > 100, roots.size() + " schemas");
        for (String ptr : roots) contract.requireKnownKeywords(ptr);
    }

    // ------------------------------------------------------------------ routes, both ways

    @Test
    void every_route_the_server_has_is_documented_and_every_documented_one_is_served() {
        Set<String> served = new TreeSet<>();
        for (WebServer.Route r : server.herald().routes()) {
            // The CORS preflight answers OPTIONS on every path (docs/API.md, CORS); it is no operation.
            if (r.method().equals("OPTIONS") && r.path().equals("/*")) continue;
            served.add(r.method() + " " + r.path());
        }
        Set<String> documented = new TreeSet<>(contract.operations());
        Set<String> undocumented = new TreeSet<>(served);
        undocumented.removeAll(documented);
        Set<String> unserved = new TreeSet<>(documented);
        unserved.removeAll(served);
        assertEquals(Set.of(), undocumented, "routes the server has that docs/openapi.yaml lacks");
        assertEquals(Set.of(), unserved, "operations docs/openapi.yaml has that the server lacks");
        assertTrue(served.contains("GET " + DOC));
    }

    /**
     * Over HTTP: every documented operation is answered (with a documented status), and a
     * method the document lists for no matching path is not.
     */
    @Test
    void documented_operations_are_answered_and_other_methods_are_not(Api api) {
        Api.Response unknown = api.get("/api/v1/no-such-route", null);
        assertTrue(noRoute(unknown), unknown.toString());
        for (String op : contract.operations()) {
            String[] mp = op.split(" ", 2);
            Api.Response r = api.send(mp[0], fill(mp[1]), null, null, Map.of());
            assertFalse(noRoute(r), op + " is documented but not answered: " + r);
            contract.check(mp[0], mp[1], r);
        }
        Set<String> documented = Set.copyOf(contract.operations());
        for (String op : documented) {
            String path = fill(op.split(" ", 2)[1]);
            for (String m : List.of("GET", "POST", "PUT", "PATCH", "DELETE")) {
                // e.g. PATCH /api/v1/chats/watch is PATCH /api/v1/chats/{id} with id "watch".
                boolean listed = documented.stream()
                        .anyMatch(d -> d.startsWith(m + " ") && matches(d.substring(m.length() + 1), path));
                if (listed) continue;
                Api.Response r = api.send(m, path, null, null, Map.of());
                assertTrue(noRoute(r), m + " " + path + " is answered but not documented: " + r);
            }
        }
    }

    /** Whether a concrete path fits a path template ({param} stands for one segment). */
    static boolean matches(String template, String path) {
        String regex = Pattern.quote(template).replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q");
        return path.matches(regex);
    }

    /** The router's own "not here" (a route's own 404 names what it did not find). */
    static final Pattern NO_ROUTE = Pattern.compile("^(no route for \\S+ \\S+|Endpoint \\S+ \\S+ not found)$");

    static boolean noRoute(Api.Response r) {
        if (r.status() == 405) return true;
        return r.status() == 404
                && "not_found".equals(r.errorCode())
                && NO_ROUTE.matcher(r.json().path("error").path("message").asText())
                        .matches();
    }

    static final Map<String, String> SAMPLES = Map.of(
            "user", "alice",
            "team", "acme",
            "job", "job-1",
            "id", "00000000-0000-4000-8000-000000000000",
            "kind", "providers",
            "entity", "entity-1",
            "prefix", "abcdefgh");

    static String fill(String template) {
        Matcher m = Pattern.compile("\\{([^}]+)}").matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = SAMPLES.get(m.group(1));
            if (v == null) fail("no sample value for path parameter {" + m.group(1) + "} of " + template);
            m.appendReplacement(out, v);
        }
        return m.appendTail(out).toString();
    }

    // ------------------------------------------------------------------ responses

    /**
     * Sends {@code op} ("METHOD /path/{template}?query", each {param} filled from {@code args} in
     * order) with {@code body} (JSON with ' for ", or null); the answer's status must be
     * documented for the operation and its JSON body valid against that response's schema.
     */
    static Api.Response call(String token, String op, String body, Object... args) {
        String[] mp = op.split(" ", 2);
        String path = mp[1];
        for (Object a : args) path = path.replaceFirst("\\{[^}]+}", a.toString());
        Api.Response r = server.api().send(mp[0], path, token, body == null ? null : json(body), Map.of());
        contract.check(mp[0], mp[1].split("\\?")[0], r);
        return r;
    }

    static Api.Response ok(int status, String token, String op, String body, Object... args) {
        Api.Response r = call(token, op, body, args);
        assertEquals(status, r.status(), op + " → " + r);
        return r;
    }

    static void refused(String code, String token, String op, String body, Object... args) {
        Api.Response r = call(token, op, body, args);
        assertEquals(code, r.errorCode(), op + " → " + r);
    }

    static String json(String singleQuoted) {
        return singleQuoted.replace('\'', '"');
    }

    @Test
    void responses_match_the_documented_schemas(Api api) {
        String alice = api.userToken("oa-resp", "alice");
        String tenant = api.mint("oa-resp", null, "events:read", "events:write", "admin");
        String operator = TestServer.ADMIN_TOKEN;

        // Tokens.
        String minted = "{'tenant':'oa-resp','user':'bob','scopes':['events:read']}";
        String prefix = ok(201, operator, "POST /api/v1/admin/tokens", minted)
                .json()
                .get("prefix")
                .asText();
        ok(204, tenant, "DELETE /api/v1/admin/tokens/{prefix}", null, prefix);
        refused("not_found", tenant, "DELETE /api/v1/admin/tokens/{prefix}", null, prefix);
        refused("invalid_scope", operator, "POST /api/v1/admin/tokens", "{'tenant':'t','scopes':['root']}");

        // User events.
        ok(201, alice, "POST /api/v1/users/{user}/events", "{'type':'job.progress','data':{'pct':5}}", "alice");
        ok(201, tenant, "POST /api/v1/users/{user}/events", "{'type':'x'}", "alice");
        refused("invalid_user", tenant, "POST /api/v1/users/{user}/events", "{'type':'x'}", "a%20b");
        ok(200, alice, "GET /api/v1/events/backlog?after=0&limit=10", null);
        refused("cursor_ahead", alice, "GET /api/v1/events/backlog?after=99999", null);
        refused("invalid_cursor", alice, "GET /api/v1/events/backlog?after=x", null);
        refused("no_user", tenant, "GET /api/v1/events/backlog", null);

        // Team jobs (a tenant is a team).
        String running = "{'status':'running'}";
        ok(201, alice, "POST /api/v1/teams/{team}/jobs/{job}/events", running, "oa-resp", "j1");
        refused("forbidden", alice, "POST /api/v1/teams/{team}/jobs/{job}/events", running, "other", "j1");

        // Inbox.
        String note = "{'title':'Invoice paid','content':'Invoice #42 was paid.','targets':['billing'],"
                + "'actions':[{'label':'Open','url':'/invoices/42'}]}";
        String id = ok(201, alice, "POST /api/v1/users/{user}/inbox", note, "alice")
                .json()
                .get("id")
                .asText();
        ok(201, alice, "POST /api/v1/users/{user}/inbox", "{'title':'Plain'}", "alice");
        ok(200, alice, "GET /api/v1/inbox?limit=1", null);
        ok(200, alice, "GET /api/v1/inbox?read_status=unread&targets=billing", null);
        ok(200, alice, "PUT /api/v1/inbox/{id}/read-status", "{'is_read':true}", id);
        ok(204, alice, "PUT /api/v1/inbox/mark-all-read", null);
        refused("invalid_limit", alice, "GET /api/v1/inbox?limit=0", null);
        refused("invalid_read_status", alice, "GET /api/v1/inbox?read_status=READ", null);
        refused("invalid_starting_before", alice, "GET /api/v1/inbox?starting_before=" + UUID.randomUUID(), null);
        refused("not_found", alice, "PUT /api/v1/inbox/{id}/read-status", "{'is_read':true}", UUID.randomUUID());
        refused("forbidden", alice, "POST /api/v1/users/{user}/inbox", "{'title':'x'}", "mallory");
        refused("unauthorized", null, "GET /api/v1/inbox", null);
        refused("unauthorized", "not-a-token", "GET /api/v1/inbox", null);
        refused("no_tenant", operator, "GET /api/v1/inbox", null);

        // Chats.
        String chat = ok(201, alice, "POST /api/v1/chats", "{'title':'Build'}")
                .json()
                .get("id")
                .asText();
        ok(200, alice, "GET /api/v1/chats?limit=5", null);
        ok(200, alice, "GET /api/v1/chats/{id}", null, chat);
        ok(200, alice, "PATCH /api/v1/chats/{id}", "{'status':'running','diff_status':{'pr':7}}", chat);
        ok(201, alice, "POST /api/v1/chats/{id}/messages", "{'role':'user','content':{'text':'hi'}}", chat);
        ok(200, alice, "GET /api/v1/chats/{id}/messages?after_id=0", null, chat);
        ok(202, alice, "POST /api/v1/chats/{id}/signals", "{'status':'running','queue_update':true}", chat);
        refused("not_found", alice, "GET /api/v1/chats/{id}", null, UUID.randomUUID());
        refused("invalid_after_id", alice, "GET /api/v1/chats/{id}/messages?after_id=-1", null, chat);
        refused("missing_field", alice, "POST /api/v1/chats", "{}");
        refused("invalid_json", alice, "POST /api/v1/chats", "{");
        refused("payload_too_large", alice, "POST /api/v1/chats", "{'title':'" + "x".repeat(70_000) + "'}");
        refused("missing_scope", api.mint("oa-resp", "alice", "events:read"), "POST /api/v1/chats", "{'title':'t'}");
        ok(204, alice, "DELETE /api/v1/chats/{id}", null, chat);

        // Config.
        String config = "/api/v1/config/{kind}/{entity}";
        ok(200, tenant, "PUT " + config, "{'value':{'model':'m1'}}", "model_config", "e1");
        ok(200, alice, "GET " + config, null, "model_config", "e1");
        ok(204, tenant, "DELETE " + config, null, "model_config", "e1");
        refused("not_found", alice, "GET " + config, null, "model_config", "e1");
        refused("invalid_kind", alice, "GET " + config, null, "colours", "e1");
        refused("missing_scope", alice, "PUT " + config, "{'value':1}", "providers", "e1");
        refused("no_tenant", operator, "GET " + config, null, "providers", "e1");

        // Operations, and SSE refusals (Api sends no Accept header).
        ok(200, null, "GET /healthz", null);
        ok(200, null, "GET /readyz", null);
        ok(200, null, "GET /metrics", null);
        refused("not_acceptable", alice, "GET /api/v1/inbox/watch", null);
    }

    /** The checker refuses what the schemas refuse (so the tests above could fail). */
    @Test
    void the_schema_checker_refuses_what_the_schemas_refuse() throws Exception {
        String notification = "/components/schemas/Notification";
        String valid = "{'id':'00000000-0000-4000-8000-000000000000','cursor':1,'user':'alice','title':'t',"
                + "'content':null,'icon':null,'targets':[],'actions':[],'read_at':null,"
                + "'created_at':'2025-01-02T03:04:05.123456Z'}";
        JsonNode ok = Api.JSON.readTree(json(valid));
        contract.validate(notification, ok);
        for (String broken : List.of(
                valid.replace("'cursor':1,", ""),
                valid.replace("'cursor':1", "'cursor':'1'"),
                valid.replace("'read_at':null", "'read_at':'yesterday'"),
                valid.replace("'targets':[]", "'targets':[1]"),
                valid.replace("'user':'alice'", "'user':'a b'"),
                valid.replace("'actions':[]", "'actions':[{'label':'x'}]"))) {
            assertFalse(contract.valid(notification, Api.JSON.readTree(json(broken))), broken);
        }
        String unauthorized = contract.response("GET", "/api/v1/inbox", 401) + "/content/application~1json/schema";
        assertTrue(contract.valid(
                unauthorized, Api.JSON.readTree(json("{'error':{'code':'unauthorized','message':'m'}}"))));
        assertFalse(
                contract.valid(unauthorized, Api.JSON.readTree(json("{'error':{'code':'forbidden','message':'m'}}"))));
        assertFalse(contract.valid(unauthorized, Api.JSON.readTree(json("{'error':{'code':'unauthorized'}}"))));
        String readStatus = contract.sseEvent("/api/v1/inbox/watch", "read_status") + "/data";
        assertTrue(contract.valid(
                readStatus, Api.JSON.readTree(json("{'unread_count':0,'all':true,'read_at':'2025-01-02T03:04:05Z'}"))));
        assertFalse(contract.valid(readStatus, Api.JSON.readTree(json("{'unread_count':0}"))));
    }

    // ------------------------------------------------------------------ SSE events

    @Test
    void sse_events_match_the_documented_event_kinds_and_data_schemas(Api api) {
        String alice = api.userToken("oa-sse", "alice");
        String admin = api.mint("oa-sse", null, "events:read", "events:write", "admin");
        String config = "/api/v1/config/{kind}/{entity}";
        String jobs = "POST /api/v1/teams/{team}/jobs/{job}/events";

        try (SseClient inbox = sse(api, "/api/v1/inbox/watch", alice);
                SseClient chats = sse(api, "/api/v1/chats/watch", alice);
                SseClient changes = sse(api, "/api/v1/config/watch", alice);
                SseClient user = sse(api, "/api/v1/events", alice);
                SseClient team = sse(api, "/api/v1/teams/oa-sse/events?job_id=j1", alice)) {
            String id = ok(201, alice, "POST /api/v1/users/{user}/inbox", "{'title':'Hi'}", "alice")
                    .json()
                    .get("id")
                    .asText();
            ok(200, alice, "PUT /api/v1/inbox/{id}/read-status", "{'is_read':true}", id);
            ok(200, alice, "PUT /api/v1/inbox/{id}/read-status", "{'is_read':false}", id);
            ok(204, alice, "PUT /api/v1/inbox/mark-all-read", null);
            expect(inbox, "/api/v1/inbox/watch", "notification", "read_status", "read_status", "read_status");

            String chat = ok(201, alice, "POST /api/v1/chats", "{'title':'c'}")
                    .json()
                    .get("id")
                    .asText();
            try (SseClient stream = sse(api, "/api/v1/chats/" + chat + "/stream", alice)) {
                String patch = "{'title':'d','status':'running','diff_status':{'a':1}}";
                ok(200, alice, "PATCH /api/v1/chats/{id}", patch, chat);
                ok(201, alice, "POST /api/v1/chats/{id}/messages", "{'role':'assistant','content':[1,'two']}", chat);
                // A persisted event and a transient one are not ordered with each other.
                expect(stream, "/api/v1/chats/{id}/stream", "message");
                String signals = "{'status':'paused','worker_id':'w-1',"
                        + "'retry':{'attempt':1,'delay_ms':500,'error':'timeout'},'error':{'code':'E1'},"
                        + "'queue_update':true,'full_refresh':false}";
                ok(202, alice, "POST /api/v1/chats/{id}/signals", signals, chat);
                // Transient: they must arrive before the deletion ends the stream.
                String[] relayed = {"status", "retry", "error", "queue_update", "full_refresh"};
                expect(stream, "/api/v1/chats/{id}/stream", relayed);
                ok(204, alice, "DELETE /api/v1/chats/{id}", null, chat);
                expect(stream, "/api/v1/chats/{id}/stream", "deleted");
                assertTrue(stream.awaitClosed(WAIT));
            }
            String[] lifecycle = {"created", "title_change", "status_change", "diff_status_change", "deleted"};
            expect(chats, "/api/v1/chats/watch", lifecycle);

            ok(200, admin, "PUT " + config, "{'value':'v'}", "user_prompt", "p1");
            ok(204, admin, "DELETE " + config, null, "user_prompt", "p1");
            expect(changes, "/api/v1/config/watch", "config_change", "config_change");

            String event = "{'type':'source.ingest.progress','data':{'n':1}}";
            ok(201, alice, "POST /api/v1/users/{user}/events", event, "alice");
            expect(user, "/api/v1/events", "source.ingest.progress");

            List<String> statuses = List.of("queued", "running", "progress", "completed", "failed");
            for (String status : statuses) ok(201, alice, jobs, "{'status':'" + status + "'}", "oa-sse", "j1");
            ok(201, alice, jobs, "{'status':'queued'}", "oa-sse", "another-job");
            expect(team, "/api/v1/teams/{team}/events", statuses.toArray(String[]::new));
        }
    }

    static SseClient sse(Api api, String path, String token) {
        SseClient c = api.sse(path, token);
        assertEquals(200, c.status, path + ": " + c.errorBody());
        String type = c.response.headers().firstValue("Content-Type").orElse("");
        assertTrue(type.startsWith("text/event-stream"), type);
        return c;
    }

    static void expect(SseClient client, String template, String... names) {
        List<String> got = new ArrayList<>();
        for (SseClient.Event e : client.take(names.length, WAIT)) {
            contract.checkEvent(template, e);
            got.add(e.event());
        }
        assertEquals(List.of(names), got);
    }

    // ------------------------------------------------------------------ request bodies

    record Sample(String op, List<Object> args, String token, List<String> bodies) {}

    /**
     * The documented request schemas and the server agree on a sample of bodies: every body the
     * schema accepts is answered 2xx, every body it refuses is answered 400 (with a documented
     * code). Rules a schema does not state (a blank title, a byte limit) are left out.
     */
    @Test
    void request_bodies_the_schemas_accept_are_the_ones_the_server_accepts(Api api) {
        String alice = api.userToken("oa-req", "alice");
        String admin = api.mint("oa-req", null, "events:read", "events:write", "admin");
        String chat = ok(201, alice, "POST /api/v1/chats", "{'title':'c'}")
                .json()
                .get("id")
                .asText();
        String note = ok(201, alice, "POST /api/v1/users/{user}/inbox", "{'title':'n'}", "alice")
                .json()
                .get("id")
                .asText();
        String tooManyActions = "[" + String.join(",", Collections.nCopies(11, "{'label':'a','url':'/a'}")) + "]";
        List<Sample> samples = List.of(
                new Sample(
                        "POST /api/v1/users/{user}/inbox",
                        List.of("alice"),
                        alice,
                        List.of(
                                "{'title':'x'}",
                                "{'title':'x','content':'c','icon':'i','targets':['a','b','a'],'actions':[{'label':'Open',"
                                        + "'url':'/x'},{'label':'Site','url':'https://example.com/a?b#c'},{'label':'q','url':'?p=2'}]}",
                                "{}",
                                "{'title':5}",
                                "{'title':''}",
                                "{'title':'" + "x".repeat(257) + "'}",
                                "{'title':'x','icon':'" + "i".repeat(2049) + "'}",
                                "{'title':'x','targets':['a,b']}",
                                "{'title':'x','targets':['']}",
                                "{'title':'x','targets':'a'}",
                                "{'title':'x','actions':[{'label':'a','url':'javascript:alert(1)'}]}",
                                "{'title':'x','actions':[{'label':'a','url':'http:/x'}]}",
                                "{'title':'x','actions':[{'label':'a','url':'/a b'}]}",
                                "{'title':'x','actions':[{'label':'a','url':'/a\\\\b'}]}",
                                "{'title':'x','actions':[{'label':'','url':'/a'}]}",
                                "{'title':'x','actions':[{'label':'a'}]}",
                                "{'title':'x','actions':" + tooManyActions + "}")),
                new Sample(
                        "POST /api/v1/users/{user}/events",
                        List.of("alice"),
                        alice,
                        List.of(
                                "{'type':'a.b-c_d'}",
                                "{'type':'x','data':[1,2]}",
                                "{}",
                                "{'type':'A'}",
                                "{'type':''}",
                                "{'type':5}")),
                new Sample(
                        "POST /api/v1/teams/{team}/jobs/{job}/events",
                        List.of("oa-req", "j"),
                        alice,
                        List.of(
                                "{'status':'queued'}",
                                "{'status':'progress','data':{'pct':5}}",
                                "{'status':'failed','data':null}",
                                "{}",
                                "{'status':'done'}",
                                "{'status':'running','data':[1]}")),
                new Sample(
                        "POST /api/v1/chats",
                        List.of(),
                        alice,
                        List.of("{'title':'t'}", "{}", "{'title':''}", "{'title':'" + "x".repeat(257) + "'}")),
                new Sample(
                        "PATCH /api/v1/chats/{id}",
                        List.of(chat),
                        alice,
                        List.of(
                                "{}",
                                "{'status':'completed'}",
                                "{'diff_status':null}",
                                "{'diff_status':{'pr':1}}",
                                "{'status':'done'}",
                                "{'diff_status':5}",
                                "{'title':''}")),
                new Sample(
                        "POST /api/v1/chats/{id}/messages",
                        List.of(chat),
                        alice,
                        List.of(
                                "{'role':'user','content':'hi'}", "{'role':'tool','content':null}",
                                "{'role':'bot','content':'x'}", "{'role':'user'}")),
                new Sample(
                        "POST /api/v1/chats/{id}/signals",
                        List.of(chat),
                        alice,
                        List.of(
                                "{'status':'running','worker_id':'w'}",
                                "{'retry':{'attempt':0,'delay_ms':10}}",
                                "{'error':{'e':1},'full_refresh':true}",
                                "{}",
                                "{'worker_id':'w'}",
                                "{'worker_id':'w','queue_update':true}",
                                "{'retry':{'attempt':-1,'delay_ms':0}}",
                                "{'retry':{'attempt':1}}",
                                "{'queue_update':'yes'}",
                                "{'status':'sleeping'}")),
                new Sample(
                        "PUT /api/v1/inbox/{id}/read-status",
                        List.of(note),
                        alice,
                        List.of("{'is_read':true}", "{'is_read':false}", "{'is_read':'true'}", "{}")),
                new Sample(
                        "PUT /api/v1/config/{kind}/{entity}",
                        List.of("providers", "p"),
                        admin,
                        List.of("{'value':{'a':1}}", "{'value':null}", "{'value':[1,'x']}", "{}")),
                new Sample(
                        "POST /api/v1/admin/tokens",
                        List.of(),
                        TestServer.ADMIN_TOKEN,
                        List.of(
                                "{'tenant':'oa-req','scopes':['events:read']}",
                                "{'tenant':'oa-req','user':'u','scopes':['events:read','admin']}",
                                "{'tenant':'oa-req','scopes':[]}",
                                "{'tenant':'oa-req','scopes':['root']}",
                                "{'scopes':['admin']}",
                                "{'tenant':'bad tenant','scopes':['admin']}")));

        int accepted = 0, refused = 0;
        for (Sample sample : samples) {
            String[] mp = sample.op().split(" ", 2);
            String schema = contract.requestBody(mp[0], mp[1]);
            for (String body : sample.bodies()) {
                JsonNode parsed;
                try {
                    parsed = Api.JSON.readTree(json(body));
                } catch (Exception e) {
                    throw new AssertionError(body, e);
                }
                boolean valid = contract.valid(schema, parsed);
                Api.Response r =
                        call(sample.token(), sample.op(), body, sample.args().toArray());
                String what = sample.op() + " " + json(body) + " → " + r;
                if (valid) {
                    assertEquals(2, r.status() / 100, "the schema accepts it, the server does not: " + what);
                    accepted++;
                } else {
                    assertEquals(400, r.status(), "the schema refuses it, the server does not: " + what);
                    refused++;
                }
            }
        }
        assertTrue(accepted >= 20 && refused >= 30, accepted + " accepted, " + refused + " refused");
    }

    /**
     * API.md's common SSE rules, on every SSE endpoint of the document: the refusals (400 cursor,
     * 401, 403, 406, 429, 503), the three ways to present a token, and the `reset` event. Only
     * SSE endpoints accept the query parameter and the cookie.
     */
    @Test
    void every_sse_endpoint_documents_the_common_sse_rules() {
        int sse = 0;
        for (String op : contract.operations()) {
            String[] mp = op.split(" ", 2);
            String ptr = contract.operation(mp[0], mp[1]);
            boolean stream = !contract.doc
                    .at(ptr + "/responses/200/content/text~1event-stream")
                    .isMissingNode();
            Set<String> schemes = new TreeSet<>();
            contract.doc.at(ptr + "/security").forEach(req -> req.fieldNames().forEachRemaining(schemes::add));
            if (!stream) {
                assertFalse(schemes.contains("accessToken") || schemes.contains("heraldCookie"), op);
                continue;
            }
            sse++;
            for (int status : new int[] {400, 401, 403, 406, 429, 503}) contract.response(mp[0], mp[1], status);
            assertEquals(Set.of("bearerAuth", "accessToken", "heraldCookie"), schemes, op);
            contract.sseEvent(mp[1], "reset");
        }
        assertEquals(6, sse);
    }
}
