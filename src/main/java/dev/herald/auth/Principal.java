package dev.herald.auth;

import dev.herald.http.ApiException;
import java.time.Instant;
import java.util.Set;

/**
 * Who is calling: a token's tenant, optional user and scopes. The operator (bootstrap token)
 * has no tenant and may only administer tokens. {@code expiresAt}: when a JWT's {@code exp}
 * passes (its SSE streams end then); null for opaque tokens, which live until revoked.
 */
public record Principal(
        String tokenPrefix, String tenant, String user, Set<Scope> scopes, boolean operator, Instant expiresAt) {

    /** An opaque token's principal: no expiry. */
    public Principal(String tokenPrefix, String tenant, String user, Set<Scope> scopes, boolean operator) {
        this(tokenPrefix, tenant, user, scopes, operator, null);
    }

    /** Whether this principal's token has expired at {@code now} (never for opaque tokens). */
    public boolean expired(Instant now) {
        return expiresAt != null && !now.isBefore(expiresAt);
    }

    public Principal require(Scope scope) {
        if (!scopes.contains(scope))
            throw ApiException.forbidden("missing_scope", "this token lacks the '" + scope.wire() + "' scope");
        return this;
    }

    /** The caller's own tenant; the operator has none, so tenant-scoped routes are 403 for it. */
    public String tenantOrThrow() {
        if (tenant == null)
            throw ApiException.forbidden("no_tenant", "the operator token belongs to no tenant; mint a tenant token");
        return tenant;
    }

    public void requireTenant(String wanted) {
        if (!wanted.equals(tenantOrThrow()))
            throw ApiException.forbidden("forbidden", "this token may not access tenant '" + wanted + "'");
    }

    /** The caller's own user, for "own user" endpoints. */
    public String userOrThrow() {
        tenantOrThrow();
        if (user == null) throw ApiException.forbidden("no_user", "this token belongs to no user; use a user token");
        return user;
    }

    /** Writing for a user: tenant-wide tokens may write for any user, user tokens only for their own. */
    public void requireMayActFor(String wantedUser) {
        tenantOrThrow();
        if (user != null && !user.equals(wantedUser))
            throw ApiException.forbidden("forbidden", "this token may not access another user's data");
    }
}
