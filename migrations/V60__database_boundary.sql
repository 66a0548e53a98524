-- The database boundary (docs/API.md "The database boundary", docs/adr/0080). Applications publish
-- from their own transactions through the NOLOGIN role herald_app, which may EXECUTE the
-- documented publish functions and nothing else in schema herald: no table, no token, no
-- internal function. PUBLIC has no rights here. Herald's own role (the one that runs these
-- migrations, hence the owner of the schema and of everything in it) keeps every right.

-- 1. Nothing for PUBLIC. PostgreSQL lets PUBLIC execute every new function by default:
--    revoke that from the functions that exist and from every one Herald's role creates
--    from now on. Default privileges given per schema can only add to the global ones, so
--    the second statement is global: it applies to routines Herald's role creates in this
--    database (in any schema). Tables and sequences grant PUBLIC nothing by default.
REVOKE ALL ON SCHEMA herald FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA herald FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA herald FROM PUBLIC;
REVOKE ALL ON ALL ROUTINES IN SCHEMA herald FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON ROUTINES FROM PUBLIC;

-- 2. The documented publish functions run as their owner (the caller needs no right on the
--    tables they write) with a fixed search_path, so nothing the caller creates (a temporary
--    table, a function or operator in a schema of its own) can stand in for what they call.
--    Every object they reach is schema-qualified, in them and in what they call
--    (herald.publish, herald.inbox_url_ok, herald.inbox_time); built-ins come from pg_catalog.
ALTER FUNCTION herald.publish_user_event(text, text, text, jsonb)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION herald.publish_job_event(text, text, text, jsonb)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION herald.notify_inbox(text, text, text, text, text, text[], jsonb)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- 3. The role applications publish through. Roles are cluster-wide: another database of the
--    same cluster (another Herald, a test) may have created it already, or may be creating it
--    right now. Without the right to create roles the migration still succeeds; Herald then
--    logs the SQL a DBA runs (README "Database roles"), and the grants below are part of it.
DO
$$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'herald_app') THEN
        IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'herald: role herald_app does not exist and role % may not create roles; '
                'a DBA creates it and grants its rights (README "Database roles")', current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE herald_app NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- created concurrently by a migration of another database
        END;
    END IF;
    GRANT USAGE ON SCHEMA herald TO herald_app;
    GRANT EXECUTE ON FUNCTION
        herald.publish_user_event(text, text, text, jsonb),
        herald.publish_job_event(text, text, text, jsonb),
        herald.notify_inbox(text, text, text, text, text, text[], jsonb)
        TO herald_app;
END
$$;
