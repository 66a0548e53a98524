package dev.herald.teamjobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TestTeamJobEvents {
    static final Duration WAIT = Duration.ofSeconds(5);
    static final Duration QUIET = Duration.ofMillis(300);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static String teamToken(Api api, String team) {
        return api.mint(team, null, "events:read", "events:write");
    }

    static long publish(Api api, String team, String job, String status, Object data, String token) {
        Map<String, Object> body = data == null ? Map.of("status", status) : Map.of("status", status, "data", data);
        Api.Response r = api.post("/api/v1/teams/" + team + "/jobs/" + job + "/events", token, body);
        assertEquals(201, r.status(), r.toString());
        return r.json().get("cursor").asLong();
    }

    @Test
    void published_job_events_arrive_in_the_team_stream_with_the_documented_wire_form(Api api) {
        String token = teamToken(api, "wire");
        try (SseClient sse = api.sse("/api/v1/teams/wire/events", token)) {
            assertEquals(200, sse.status, sse.errorBody());
            Api.Response r = api.post(
                    "/api/v1/teams/wire/jobs/job-1/events",
                    token,
                    Map.of("status", "queued", "data", Map.of("position", 3)));
            assertEquals(201, r.status(), r.toString());
            assertEquals("team:wire", r.json().get("stream").asText());
            assertEquals(1, r.json().get("cursor").asLong());
            assertEquals("wire", r.json().get("team").asText());
            assertEquals("job-1", r.json().get("job_id").asText());
            assertEquals("queued", r.json().get("status").asText());
            assertEquals(2, publish(api, "wire", "job-1", "progress", Map.of("pct", 50), token));
            assertEquals(3, publish(api, "wire", "job-2", "completed", null, token));

            List<SseClient.Event> got = sse.take(3, WAIT);
            assertEquals(
                    List.of(1L, 2L, 3L), got.stream().map(SseClient.Event::id).toList());
            assertEquals(
                    List.of("queued", "progress", "completed"),
                    got.stream().map(SseClient.Event::event).toList());
            JsonNode first = got.get(0).json();
            assertEquals("job-1", first.get("job_id").asText());
            assertEquals("queued", first.get("status").asText());
            assertEquals(3, first.get("data").get("position").asInt());
            assertTrue(first.get("created_at").asText().endsWith("Z"), first.toString());
            assertEquals(4, first.size(), "exactly job_id, status, data, created_at: " + first);
            assertEquals(50, got.get(1).json().get("data").get("pct").asInt());
            assertEquals("job-2", got.get(2).json().get("job_id").asText());
            assertTrue(got.get(2).json().get("data").isObject()
                    && got.get(2).json().get("data").isEmpty());
        }
    }

    @Test
    void another_tenant_can_neither_publish_to_nor_read_a_team_and_sees_nothing_of_it(Api api) {
        String acme = teamToken(api, "acme-x");
        String globexUser = api.userToken("globex-x", "mallory");
        String globexTeam = teamToken(api, "globex-x");

        Api.Response pub = api.post("/api/v1/teams/acme-x/jobs/j/events", globexTeam, Map.of("status", "running"));
        assertEquals(403, pub.status(), pub.toString());
        assertEquals("forbidden", pub.errorCode());
        assertEquals(
                403,
                api.post("/api/v1/teams/acme-x/jobs/j/events", globexUser, Map.of("status", "running"))
                        .status());
        try (SseClient denied = api.sse("/api/v1/teams/acme-x/events", globexUser)) {
            assertEquals(403, denied.status);
            assertTrue(denied.errorBody().contains("\"code\""), denied.errorBody());
        }
        try (SseClient denied = api.sse("/api/v1/teams/acme-x/events?job_id=j", globexTeam)) {
            assertEquals(403, denied.status);
        }

        // globex watching its own team stream sees none of acme's events.
        try (SseClient own = api.sse("/api/v1/teams/globex-x/events", globexUser);
                SseClient acmeSse = api.sse("/api/v1/teams/acme-x/events", acme)) {
            assertEquals(200, own.status, own.errorBody());
            publish(api, "acme-x", "j", "running", Map.of("secret", "acme-only"), acme);
            assertEquals("running", acmeSse.next(WAIT).event());
            assertTrue(own.drain(QUIET).isEmpty());
        }
        // Nor can it replay acme's events by naming a cursor of its own (empty) stream.
        try (SseClient replay = api.sse("/api/v1/teams/globex-x/events?after=0", globexUser)) {
            assertEquals(200, replay.status, replay.errorBody());
            assertTrue(replay.drain(QUIET).isEmpty());
        }
    }

    @Test
    void a_token_without_the_scope_is_refused_and_bad_input_is_400(Api api) {
        String readOnly = api.mint("scoped", null, "events:read");
        String writeOnly = api.mint("scoped", null, "events:write");
        String token = teamToken(api, "scoped");
        assertEquals(
                "missing_scope",
                api.post("/api/v1/teams/scoped/jobs/j/events", readOnly, Map.of("status", "running"))
                        .errorCode());
        try (SseClient sse = api.sse("/api/v1/teams/scoped/events", writeOnly)) {
            assertEquals(403, sse.status);
        }
        assertEquals(
                401,
                api.post("/api/v1/teams/scoped/jobs/j/events", null, Map.of("status", "running"))
                        .status());

        Api.Response badStatus = api.post("/api/v1/teams/scoped/jobs/j/events", token, Map.of("status", "done"));
        assertEquals(400, badStatus.status());
        assertEquals("invalid_field", badStatus.errorCode());
        assertEquals(
                "missing_field",
                api.post("/api/v1/teams/scoped/jobs/j/events", token, Map.of("data", Map.of()))
                        .errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/teams/scoped/jobs/j/events", token, Map.of("status", "running", "data", List.of(1)))
                        .errorCode());
        assertEquals(
                "invalid_json",
                api.post("/api/v1/teams/scoped/jobs/j/events", token, "{not json")
                        .errorCode());
        assertEquals(
                "invalid_job",
                api.post("/api/v1/teams/scoped/jobs/bad%20id/events", token, Map.of("status", "running"))
                        .errorCode());
        try (SseClient sse = api.sse("/api/v1/teams/scoped/events?job_id=bad%20id", token)) {
            assertEquals(400, sse.status);
            assertTrue(sse.errorBody().contains("invalid_job_id"), sse.errorBody());
        }
        try (SseClient sse = api.sse("/api/v1/teams/scoped/events?after=x", token)) {
            assertEquals(400, sse.status);
            assertTrue(sse.errorBody().contains("invalid_cursor"), sse.errorBody());
        }
    }

    @Test
    void the_job_filter_delivers_only_that_job_with_the_team_stream_cursors(Api api) {
        String token = teamToken(api, "filter");
        try (SseClient one = api.sse("/api/v1/teams/filter/events?job_id=build-1", token);
                SseClient all = api.sse("/api/v1/teams/filter/events", token)) {
            long c1 = publish(api, "filter", "build-1", "queued", null, token);
            publish(api, "filter", "build-2", "queued", null, token);
            publish(api, "filter", "build-10", "running", null, token);
            long c4 = publish(api, "filter", "build-1", "running", Map.of("job", "build-2"), token);
            publish(api, "filter", "build-2", "failed", null, token);
            long c6 = publish(api, "filter", "build-1", "completed", null, token);

            List<SseClient.Event> mine = one.take(3, WAIT);
            assertEquals(
                    List.of(c1, c4, c6), mine.stream().map(SseClient.Event::id).toList());
            for (SseClient.Event e : mine)
                assertEquals("build-1", e.json().get("job_id").asText());
            assertEquals(
                    "build-2", mine.get(1).json().get("data").get("job").asText(), "the payload may itself say 'job'");
            assertTrue(one.drain(QUIET).isEmpty());
            assertEquals(6, all.take(6, WAIT).size());
        }
    }

    @Test
    void a_filtered_client_resumes_exactly_after_its_last_event_id(Api api) {
        String token = teamToken(api, "resume");
        long seen;
        try (SseClient sse = api.sse("/api/v1/teams/resume/events?job_id=a", token)) {
            publish(api, "resume", "a", "queued", null, token); // 1
            publish(api, "resume", "b", "queued", null, token); // 2
            publish(api, "resume", "a", "running", null, token); // 3
            publish(api, "resume", "b", "running", null, token); // 4
            List<SseClient.Event> got = sse.take(2, WAIT);
            assertEquals(List.of(1L, 3L), got.stream().map(SseClient.Event::id).toList());
            seen = got.get(1).id();
        }
        // While it is away: more of both jobs.
        publish(api, "resume", "b", "progress", null, token); // 5
        long missed = publish(api, "resume", "a", "progress", Map.of("pct", 60), token); // 6
        publish(api, "resume", "b", "completed", null, token); // 7

        try (SseClient again = api.sse("/api/v1/teams/resume/events?job_id=a", token, seen)) {
            assertEquals(200, again.status, again.errorBody());
            SseClient.Event e = again.next(WAIT);
            assertEquals(missed, e.id());
            assertEquals("progress", e.event());
            assertEquals(60, e.json().get("data").get("pct").asInt());
            assertTrue(again.drain(QUIET).isEmpty(), "nothing twice, nothing of job b");
            long live = publish(api, "resume", "a", "completed", null, token); // 8
            publish(api, "resume", "b", "failed", null, token); // 9
            assertEquals(live, again.next(WAIT).id());
            assertTrue(again.drain(QUIET).isEmpty());
        }
        // ?after= works the same when there is no header; cursors are the team stream's.
        try (SseClient after = api.sse("/api/v1/teams/resume/events?job_id=a&after=3", token)) {
            List<SseClient.Event> got = after.take(2, WAIT);
            assertEquals(List.of(6L, 8L), got.stream().map(SseClient.Event::id).toList());
        }
        try (SseClient ahead = api.sse("/api/v1/teams/resume/events?job_id=a", token, 99L)) {
            assertEquals(400, ahead.status);
            assertTrue(ahead.errorBody().contains("cursor_ahead"), ahead.errorBody());
        }
    }

    @Test
    void sql_publish_is_seen_only_on_commit_and_a_rollback_leaves_no_trace(Api api) throws Exception {
        String token = teamToken(api, "sqlteam");
        try (SseClient sse = api.sse("/api/v1/teams/sqlteam/events?job_id=etl", token);
                Connection c = Sql.connect(server.databaseUrl())) {
            assertEquals(200, sse.status, sse.errorBody());
            c.setAutoCommit(false);
            long rolledBack = Sql.publishJobEvent(c, "sqlteam", "etl", "running", "{\"rows\":1}");
            assertEquals(1, rolledBack);
            assertNull(sse.next(QUIET), "not visible before commit");
            c.rollback();
            assertNull(sse.next(QUIET), "a rolled-back event never arrives");

            long first = Sql.publishJobEvent(c, "sqlteam", "etl", "running", "{\"rows\":2}");
            long second = Sql.publishJobEvent(c, "sqlteam", "etl", "progress", null);
            assertEquals(rolledBack, first, "cursors stay dense: the rollback returned its number");
            assertNull(sse.next(QUIET), "not visible before commit");
            c.commit();
            List<SseClient.Event> got = sse.take(2, WAIT);
            assertEquals(
                    List.of(first, second),
                    got.stream().map(SseClient.Event::id).toList());
            assertEquals(2, got.get(0).json().get("data").get("rows").asInt());
            assertEquals("etl", got.get(1).json().get("job_id").asText());
            assertTrue(got.get(1).json().get("data").isEmpty());

            // HTTP and SQL share the stream and its cursors.
            assertEquals(second + 1, publish(api, "sqlteam", "etl", "completed", null, token));
            assertEquals(second + 1, sse.next(WAIT).id());
        }
    }

    @Test
    void sql_publish_validates_its_inputs() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl())) {
            for (String[] bad : new String[][] {
                {"team ok?", "j", "running", "{}"},
                {"t", "", "running", "{}"},
                {"t", "j", "finished", "{}"},
                {"t", "j", null, "{}"},
                {"t", "j", "running", "[1,2]"},
                {"t", "j", "running", "\"text\""}
            }) {
                SQLException e =
                        assertThrows(SQLException.class, () -> Sql.publishJobEvent(c, bad[0], bad[1], bad[2], bad[3]));
                assertEquals("22023", e.getSQLState(), e.getMessage());
            }
            assertEquals(0, Sql.scalar(c, "SELECT count(*) FROM herald.events WHERE stream = 'team:t'"));
        }
    }
}
