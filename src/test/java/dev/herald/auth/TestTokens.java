package dev.herald.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** API.md "Identity, tenants, tokens" and "Errors", through the real HTTP API. */
class TestTokens {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static final String OP = TestServer.ADMIN_TOKEN;

    @Test
    void the_operator_mints_a_token_for_any_tenant_and_sees_it_once(Api api) {
        Api.Response r = api.post(
                "/api/v1/admin/tokens",
                OP,
                Map.of("tenant", "acme", "user", "alice", "scopes", List.of("events:read")));
        assertEquals(201, r.status(), r.toString());
        JsonNode j = r.json();
        String token = j.get("token").asText();
        assertEquals(token.substring(0, 8), j.get("prefix").asText());
        assertEquals("acme", j.get("tenant").asText());
        assertEquals("alice", j.get("user").asText());
        assertEquals(List.of("events:read"), List.of(j.get("scopes").get(0).asText()));
        assertTrue(token.length() >= 32);
    }

    @Test
    void only_a_hash_of_a_token_is_stored(Api api) {
        String token = api.userToken("acme", "hashme");
        for (String row : Sql.query(server.databaseUrl(), "SELECT t::text FROM herald.tokens t", rs -> rs.getString(1)))
            assertFalse(row.contains(token), "raw token found in the tokens table");
    }

    @Test
    void a_tenant_admin_mints_for_its_own_tenant_only(Api api) {
        String admin = api.mint("acme", null, "admin");
        assertEquals(
                201,
                api.post(
                                "/api/v1/admin/tokens",
                                admin,
                                Map.of("tenant", "acme", "user", "bob", "scopes", List.of("events:read")))
                        .status());
        Api.Response other =
                api.post("/api/v1/admin/tokens", admin, Map.of("tenant", "globex", "scopes", List.of("events:read")));
        assertEquals(403, other.status(), other.toString());
        assertEquals("forbidden", other.errorCode());
    }

    @Test
    void minting_needs_the_admin_scope_and_a_valid_token(Api api) {
        String reader = api.mint("acme", "carol", "events:read", "events:write");
        Map<String, Object> body = Map.of("tenant", "acme", "scopes", List.of("events:read"));
        assertEquals(403, api.post("/api/v1/admin/tokens", reader, body).status());
        assertEquals(
                "missing_scope", api.post("/api/v1/admin/tokens", reader, body).errorCode());
        assertEquals(401, api.post("/api/v1/admin/tokens", null, body).status());
        assertEquals(
                401,
                api.post("/api/v1/admin/tokens", "garbage-token-that-does-not-exist", body)
                        .status());
        Api.Response basic =
                api.send("POST", "/api/v1/admin/tokens", null, body, Map.of("Authorization", "Basic Zm9vOmJhcg=="));
        assertEquals(401, basic.status());
        assertEquals("unauthorized", basic.errorCode());
    }

    @Test
    void bad_mint_requests_are_400_with_a_code(Api api) {
        assertEquals(
                "invalid_json",
                api.post("/api/v1/admin/tokens", OP, "{not json").errorCode());
        assertEquals(
                "invalid_json", api.post("/api/v1/admin/tokens", OP, "[1,2]").errorCode());
        assertEquals(
                "missing_field",
                api.post("/api/v1/admin/tokens", OP, Map.of("scopes", List.of("admin")))
                        .errorCode());
        assertEquals(
                "missing_field",
                api.post("/api/v1/admin/tokens", OP, Map.of("tenant", "acme")).errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/admin/tokens", OP, Map.of("tenant", 42, "scopes", List.of("admin")))
                        .errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/admin/tokens", OP, Map.of("tenant", "acme", "scopes", "admin"))
                        .errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/admin/tokens", OP, Map.of("tenant", "acme", "scopes", List.of()))
                        .errorCode());
        assertEquals(
                "invalid_scope",
                api.post("/api/v1/admin/tokens", OP, Map.of("tenant", "acme", "scopes", List.of("root")))
                        .errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/admin/tokens", OP, Map.of("tenant", "bad tenant!", "scopes", List.of("admin")))
                        .errorCode());
        assertEquals(
                "invalid_field",
                api.post(
                                "/api/v1/admin/tokens",
                                OP,
                                Map.of("tenant", "acme", "user", "x".repeat(129), "scopes", List.of("admin")))
                        .errorCode());
        Api.Response r = api.post("/api/v1/admin/tokens", OP, "{\"tenant\":\"acme\"");
        assertEquals(400, r.status());
        assertFalse(r.body().matches("(?s).*(Exception|\\.java:\\d|\\tat ).*"), "no stack trace: " + r.body());
    }

    @Test
    void a_body_over_64_KiB_is_413(Api api) {
        String big = "{\"tenant\":\"acme\",\"scopes\":[\"admin\"],\"pad\":\"" + "x".repeat(70_000) + "\"}";
        Api.Response r = api.post("/api/v1/admin/tokens", OP, big);
        assertEquals(413, r.status(), r.toString());
        assertEquals("payload_too_large", r.errorCode());
    }

    @Test
    void an_unknown_route_is_a_404_json_error(Api api) {
        Api.Response r = api.get("/api/v1/nothing/here", OP);
        assertEquals(404, r.status());
        assertEquals("not_found", r.errorCode());
        assertTrue(r.header("Content-Type").startsWith("application/json"));
    }

    @Test
    void a_revoked_token_stops_working_and_other_tokens_of_the_user_keep_working(Api api) {
        Api.Response minted = api.post(
                "/api/v1/admin/tokens",
                OP,
                Map.of("tenant", "acme", "user", "dave", "scopes", List.of("events:read", "events:write")));
        String token = minted.json().get("token").asText();
        String prefix = minted.json().get("prefix").asText();
        String second = api.userToken("acme", "dave");
        assertEquals(
                201,
                api.post("/api/v1/users/dave/events", token, Map.of("type", "a.b"))
                        .status());
        assertEquals(204, api.delete("/api/v1/admin/tokens/" + prefix, OP).status());
        Api.Response after = api.post("/api/v1/users/dave/events", token, Map.of("type", "a.b"));
        assertEquals(401, after.status());
        assertEquals(
                201,
                api.post("/api/v1/users/dave/events", second, Map.of("type", "a.b"))
                        .status());
        assertEquals(404, api.delete("/api/v1/admin/tokens/" + prefix, OP).status(), "revoking twice");
        assertEquals(404, api.delete("/api/v1/admin/tokens/zzzzzzzz", OP).status());
        assertEquals(404, api.delete("/api/v1/admin/tokens/../../x", OP).status());
    }

    @Test
    void a_tenant_admin_cannot_see_or_revoke_another_tenants_token(Api api) {
        String globexToken = api.mint("globex", "eve", "events:read");
        String acmeAdmin = api.mint("acme", null, "admin");
        Api.Response r = api.delete("/api/v1/admin/tokens/" + globexToken.substring(0, 8), acmeAdmin);
        assertEquals(404, r.status());
        assertEquals(200, api.get("/api/v1/events/backlog", globexToken).status(), "still valid");
        String acmeUser = api.mint("acme", "frank", "events:read");
        assertEquals(
                204,
                api.delete("/api/v1/admin/tokens/" + acmeUser.substring(0, 8), acmeAdmin)
                        .status());
    }

    @Test
    void tokens_are_confined_to_their_tenant_user_and_scopes(Api api) {
        String alice = api.mint("acme", "alice2", "events:read", "events:write");
        String readOnly = api.mint("acme", "alice2", "events:read");
        String service = api.mint("acme", null, "events:write");
        assertEquals(
                403,
                api.post("/api/v1/users/bob2/events", alice, Map.of("type", "x"))
                        .status(),
                "another user's stream");
        assertEquals(
                403,
                api.post("/api/v1/users/alice2/events", readOnly, Map.of("type", "x"))
                        .status(),
                "no write scope");
        assertEquals(
                201,
                api.post("/api/v1/users/bob2/events", service, Map.of("type", "x"))
                        .status(),
                "tenant-wide writer");
        assertEquals(403, api.get("/api/v1/events/backlog", service).status(), "no user, no read scope");
        assertEquals(
                403,
                api.post("/api/v1/users/alice2/events", OP, Map.of("type", "x")).status(),
                "operator has no tenant");
        // Nothing of another tenant is visible: same user id, other tenant, empty stream.
        String globexAlice = api.userToken("globex", "alice2");
        api.post("/api/v1/users/alice2/events", alice, Map.of("type", "secret.acme"));
        JsonNode backlog = api.get("/api/v1/events/backlog", globexAlice).json();
        assertEquals(0, backlog.get("events").size());
        assertEquals(0, backlog.get("head").asLong());
    }

    @Test
    void health_and_readiness(Api api) {
        assertEquals(200, api.get("/healthz", null).status());
        Api.Response ready = api.get("/readyz", null);
        assertEquals(200, ready.status());
        assertTrue(ready.json().get("listener").asBoolean());
        assertNotEquals(null, api.get("/metrics", null).body());
    }
}
