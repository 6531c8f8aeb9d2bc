-- postgres-role.sql: the least-privilege PostgreSQL role for dbkeeper.
--
-- Run it with psql as a superuser, connected to EACH database dbkeeper
-- keeps (function grants and memberships are checked per database, and it
-- is safe to run again):
--
--   psql -d app -v app_owner=app_owner \
--        -v log_tables=public.app_log,audit.event_log \
--        -f /usr/share/dbkeeper/sql/postgres-role.sql
--
-- psql variables (-v name=value):
--   agent       the role to create or update          (default: dbkeeper)
--   app_owner   the role that owns the tables and indexes dbkeeper may
--               drop, rebuild and analyze              (default: none)
--   log_tables  comma-separated log tables (schema.table) whose old rows
--               dbkeeper deletes, when app_owner does not own them
--               (default: none)
--
-- The role gets no password: on the database host the service connects
-- through the Unix socket as OS user dbkeeper, which peer authentication
-- (Debian's default for local connections) maps to this role. For TCP, set
-- one with \password dbkeeper and put it in the target's password_file.
--
-- What each privilege is for:
--   pg_monitor (includes pg_read_all_settings, pg_read_all_stats and
--     pg_stat_scan_tables): observation. Statistics of every table and
--     session (pg_stat_user_tables, pg_stat_activity, pg_stat_replication
--     for the replica lag guard, pg_stat_statements), settings such as
--     log_directory and data_directory, pgstattuple/pgstatindex bloat
--     estimates, and pg_ls_logdir() to list server log files.
--   EXECUTE on pg_current_logfile(): tells which log file is in use, so
--     that server log retention never removes it.
--   Membership in app_owner: PostgreSQL has no DROP, REINDEX or ANALYZE
--     privilege; dropping a table (scratch tables) or an index (invalid
--     indexes), REINDEX INDEX CONCURRENTLY (bloated indexes) and ANALYZE
--     (stale statistics) before PostgreSQL 17 all require owning the
--     table. Membership lends exactly the owner's rights on the owner's
--     objects, and nothing on anybody else's. On PostgreSQL 17 and later,
--     GRANT MAINTAIN ON TABLE ... covers REINDEX and ANALYZE without
--     ownership; dropping still needs it.
--   SELECT, DELETE on each log table: deleting old rows in batches (DELETE
--     alone cannot read the time column the WHERE clause tests).
--   Nothing for advisory locks (one agent per database), lock_timeout or
--     statement_timeout: every role may use them.
-- Not granted, so not done: dropping the temporary tables of crashed
-- sessions (scratch_tables.orphan_temp) needs a superuser; autovacuum
-- removes those by itself.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
\if :{?agent}
\else
\set agent dbkeeper
\endif
\if :{?app_owner}
\else
\set app_owner ''
\endif
\if :{?log_tables}
\else
\set log_tables ''
\endif

-- The role, created once; NOINHERIT would make membership useless.
SELECT pg_catalog.format('CREATE ROLE %I LOGIN INHERIT', :'agent')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'agent')
\gexec
SELECT pg_catalog.format('ALTER ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB '
                         'NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'agent')
\gexec

-- Observation: catalog statistics, settings, bloat functions, log listing.
SELECT pg_catalog.format('GRANT pg_monitor TO %I', :'agent')
\gexec
-- Connect to this database (PUBLIC has it by default; a site may revoke it).
SELECT pg_catalog.format('GRANT CONNECT ON DATABASE %I TO %I',
                         pg_catalog.current_database(), :'agent')
\gexec
-- Server log retention: which file is in use (superuser-only by default).
SELECT pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', p.oid::pg_catalog.regprocedure, :'agent')
  FROM pg_catalog.pg_proc p
 WHERE p.proname = 'pg_current_logfile'
   AND p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
\gexec

-- Actions: ownership rights through membership in the owning role. Refused
-- for a superuser or otherwise privileged owner: membership would let the
-- agent SET ROLE to it and use its attributes.
SELECT :'app_owner' <> '' AS dbk_want_owner,
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'app_owner') AS dbk_owner_exists,
       COALESCE((SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR
                        r.rolreplication OR r.rolbypassrls
                   FROM pg_catalog.pg_roles r WHERE r.rolname = :'app_owner'),
                false) AS dbk_owner_privileged,
       pg_catalog.current_setting('server_version_num')::int >= 160000 AS dbk_pg16
\gset
\if :dbk_want_owner
\if :dbk_owner_privileged
SELECT pg_catalog.format('DO %L', pg_catalog.format('BEGIN RAISE EXCEPTION USING MESSAGE = %L; END',
       pg_catalog.format('app_owner %I is a superuser or has CREATEROLE, CREATEDB, REPLICATION '
                         'or BYPASSRLS: refusing to make %I a member of it; have the '
                         'application''s objects owned by a plain role', :'app_owner', :'agent')))
\gexec
\elif :dbk_owner_exists
\if :dbk_pg16
-- PostgreSQL 16+: use the owner's rights, but never SET ROLE to it.
SELECT pg_catalog.format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', :'app_owner', :'agent')
\gexec
\else
SELECT pg_catalog.format('GRANT %I TO %I', :'app_owner', :'agent')
\gexec
\endif
\else
SELECT pg_catalog.format('DO %L', pg_catalog.format('BEGIN RAISE EXCEPTION USING MESSAGE = %L; END',
       pg_catalog.format('app_owner: role %I does not exist', :'app_owner')))
\gexec
\endif
\endif

-- Log tables owned by someone else: read the time column, delete rows,
-- and reach the table's schema. ::regclass refuses a table that is not
-- there, and quotes the name.
SELECT pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %I', n.nspname, :'agent'),
       pg_catalog.format('GRANT SELECT, DELETE ON TABLE %s TO %I', c.oid::pg_catalog.regclass, :'agent')
  FROM pg_catalog.unnest(pg_catalog.string_to_array(:'log_tables', ',')) AS t(name)
  JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.btrim(t.name)::pg_catalog.regclass
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE pg_catalog.btrim(t.name) <> ''
\gexec

\echo 'postgres-role.sql: role' :agent 'ready in database' :DBNAME
