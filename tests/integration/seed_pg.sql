-- tests/integration/seed_pg.sql: a messy demo database for dbkeeper's
-- PostgreSQL driver, seeded into the CURRENT database:
--   psql -X -v ON_ERROR_STOP=1 -d DB -f tests/integration/seed_pg.sql
-- Idempotent: it drops and recreates the schemas it uses (app, archive,
-- and repack when no real pg_repack is installed); it touches nothing else.
-- Schema app is the one a test policy allow-lists; archive is outside it.
\set QUIET on
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS app CASCADE;
DROP SCHEMA IF EXISTS archive CASCADE;
CREATE SCHEMA app;
CREATE SCHEMA archive;

-- The application's own table: must survive everything.
CREATE TABLE app.users (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO app.users (name) SELECT 'user ' || i FROM generate_series(1, 1000) i;
-- Same definition twice: the second is reported DUPLICATE of the first.
CREATE INDEX users_name_idx ON app.users (name);
CREATE INDEX users_name_idx2 ON app.users (name);

-- Scratch tables (policy patterns tmp_*, *_bak_*).
CREATE TABLE app.tmp_import_2023 (id int, payload text);
INSERT INTO app.tmp_import_2023 SELECT i, md5(i::text) FROM generate_series(1, 5000) i;
CREATE TABLE app.tmp_report_1 (id int, total numeric);
INSERT INTO app.tmp_report_1 SELECT i, i * 1.5 FROM generate_series(1, 500) i;
CREATE TABLE app.orders_bak_20240101 (id int, amount numeric, placed_at timestamptz);
INSERT INTO app.orders_bak_20240101
	SELECT i, i % 97, '2024-01-01'::timestamptz - i * interval '1 hour'
	FROM generate_series(1, 2000) i;

-- Hostile names: quoted exactly or not at all.
CREATE TABLE app."tmp_x""; DROP TABLE users; --" (id int);
INSERT INTO app."tmp_x""; DROP TABLE users; --" VALUES (1);
CREATE TABLE app."tmp_café" (id int);
INSERT INTO app."tmp_café" VALUES (1);

-- Decoys: look scratch-ish, are not.
CREATE TABLE app.temperature (id int, celsius numeric);
INSERT INTO app.temperature SELECT i, 20 + i % 10 FROM generate_series(1, 100) i;
CREATE TABLE app.template_pages (id int, body text);
INSERT INTO app.template_pages SELECT i, 'page ' || i FROM generate_series(1, 100) i;
CREATE TABLE app.tmpl_pages (id int, body text);
INSERT INTO app.tmpl_pages SELECT i, 'tmpl ' || i FROM generate_series(1, 100) i;

-- Scratch-named, but in a schema outside the allow-list.
CREATE TABLE archive.tmp_archive_1 (id int);
INSERT INTO archive.tmp_archive_1 SELECT generate_series(1, 100);

-- A log table with 200,000 rows evenly spread over the last 180 days
-- (one row every 77.76 s), so a retention cutoff splits it exactly.
CREATE TABLE app.app_log (
	id bigserial PRIMARY KEY,
	created_at timestamptz NOT NULL,
	msg text
);
INSERT INTO app.app_log (created_at, msg)
	SELECT now() - i * interval '77.76 seconds', 'event ' || i
	FROM generate_series(1, 200000) i;
CREATE INDEX app_log_created_at_idx ON app.app_log (created_at);

-- A bloated B-tree: 200k rows indexed, 80% deleted scattered over every
-- leaf page, then VACUUM ANALYZE so the statistics see it (~75% bloat).
CREATE TABLE app.bloat_demo (id int, val int) WITH (autovacuum_enabled = false);
INSERT INTO app.bloat_demo SELECT i, i FROM generate_series(1, 200000) i;
CREATE INDEX bloat_demo_val_idx ON app.bloat_demo (val);
DELETE FROM app.bloat_demo WHERE id % 5 <> 0;
VACUUM ANALYZE app.bloat_demo;

-- Stale statistics: analyzed at 1,000 rows, then 50,000 more written;
-- autovacuum is off for it so the staleness stays until dbkeeper acts.
CREATE TABLE app.stale_stats (id int, v text) WITH (autovacuum_enabled = false);
INSERT INTO app.stale_stats SELECT i, 'v' || i FROM generate_series(1, 1000) i;
ANALYZE app.stale_stats;
INSERT INTO app.stale_stats SELECT i, 'v' || i FROM generate_series(1001, 51000) i;

-- An invalid index: a concurrent unique build over duplicate values
-- fails and leaves app.inv_demo_code_uidx behind with indisvalid = false.
CREATE TABLE app.inv_demo (id int, code int);
INSERT INTO app.inv_demo SELECT i, i % 100 FROM generate_series(1, 1000) i;
\echo 'seed_pg.sql: the next ERROR (could not create unique index) is intended'
\set ON_ERROR_STOP 0
CREATE UNIQUE INDEX CONCURRENTLY inv_demo_code_uidx ON app.inv_demo (code);
\set ON_ERROR_STOP 1

-- pg_repack leftovers of an interrupted run (only when the real
-- extension is absent: its schema must not be dropped).
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_repack') THEN
		DROP SCHEMA IF EXISTS repack CASCADE;
		CREATE SCHEMA repack;
		CREATE TABLE repack.log_16999 (id bigserial, pk int, row text);
		CREATE TABLE repack.table_16999 (id int, val int);
		CREATE INDEX index_17001 ON repack.table_16999 (val);
	END IF;
END
$$;

ANALYZE app.users, app.app_log, app.tmp_import_2023, app.tmp_report_1,
	app.orders_bak_20240101, app.temperature, app.template_pages, app.tmpl_pages,
	app.inv_demo;
