-- mysql-user.sql: the least-privilege MySQL/MariaDB account for dbkeeper.
--
-- Run it as an administrator, once per application schema (database) the
-- target's policies act on; it is safe to run again:
--
--   mariadb --init-command="SET @app_schema = 'shop', @log_table = 'app_log'" \
--           < /usr/share/dbkeeper/sql/mysql-user.sql
--
-- (mysql takes the same options.) It stops at the first error. Session
-- variables, set in --init-command:
--   @app_schema     the application schema (database)          (required)
--   @agent_user     account name                          (default dbkeeper)
--   @agent_host     account host; with skip-name-resolve, TCP clients
--                   from the same host need '127.0.0.1'  (default localhost)
--   @agent_password password for a new account; without one, MariaDB
--                   authenticates OS user dbkeeper over the Unix socket
--                   (unix_socket plugin) and MySQL creates the account
--                   locked until you ALTER USER ... IDENTIFIED BY and
--                   ACCOUNT UNLOCK                              (default none)
--   @log_table      one log table (table, or schema.table) whose old rows
--                   dbkeeper deletes; run again for each further table
--                                                               (default none)
--   @server_logs    0: leave out the binary log privileges, for hosts
--                   where dbkeeper shall not purge binary logs  (default 1)
--
-- What each privilege is for (verified on MariaDB 10.11):
--   SELECT on the schema: re-checking each object right before acting,
--     batch bounds of log table purges, the WHERE clause of DELETE, and
--     ANALYZE TABLE. (information_schema shows only tables the account has
--     some privilege on, so this also makes them visible.)
--   INSERT on the schema: ANALYZE TABLE requires SELECT and INSERT.
--   ALTER on the schema: online rebuild, ALTER TABLE ... FORCE,
--     ALGORITHM=INPLACE, LOCK=NONE. MySQL documents ALTER TABLE as also
--     needing CREATE and INSERT; CREATE is granted on MySQL only (MariaDB
--     needs ALTER alone).
--   INDEX on the schema: DROP INDEX.
--   DROP on the schema: dropping scratch tables. Caution: MySQL has no
--     table-only DROP at schema level; this also permits DROP DATABASE,
--     which dbkeeper never issues.
--   DELETE on each log table (not the schema): purging old rows.
--   PROCESS (global): information_schema.PROCESSLIST of all sessions (is
--     a schema-change tool still running?) and the INNODB_* tables
--     (tablespace sizes, metrics, rows modified since the last ANALYZE). Not optional: without it the other
--     sessions are invisible, and a running tool's tables would be
--     protected only by its triggers, heartbeat and write activity.
--   SELECT on performance_schema: per-table write counts (is a scratch
--     table idle?), per-index use, statement digests. Optional: without
--     it idleness is judged from table statistics alone.
--   SELECT on mysql.innodb_table_stats and mysql.innodb_index_stats: when
--     statistics were last refreshed, index sizes.
--   Replica monitoring, SLAVE MONITOR (MariaDB 10.5.9+; REPLICATION CLIENT
--     before, and on MySQL): SHOW ALL REPLICAS STATUS / SHOW REPLICA
--     STATUS, to know that a server is a replica (dbkeeper then changes
--     nothing on it) and for the replica lag guard. Not optional: without
--     it a replica is not recognised.
--   Binary logs (optional, @server_logs = 0 leaves them out): BINLOG
--     MONITOR (MariaDB 10.5.2+; REPLICATION CLIENT before, and on MySQL)
--     for SHOW BINARY LOGS; BINLOG ADMIN (MariaDB 10.5.2+), BINLOG_ADMIN
--     (MySQL 8) or SUPER (older) for PURGE BINARY LOGS; REPLICATION
--     MASTER ADMIN (MariaDB 10.5.2+; REPLICATION SLAVE before, and on
--     MySQL) for SHOW REPLICA HOSTS / SHOW REPLICAS: which replicas read
--     the binary logs. Without it no binary log is purged. Caution:
--     REPLICATION SLAVE also lets the account stream the binary logs.
--   Nothing for GET_LOCK (one agent per server and database).
--   Server log tables: see the optional block at the end (not granted here).

-- ---- Parameters and derived names ----
SET @agent_user = COALESCE(@agent_user, 'dbkeeper');
SET @agent_host = COALESCE(@agent_host, 'localhost');
SET @server_logs = COALESCE(@server_logs, 1);
SET @dbk_mariadb = VERSION() LIKE '%MariaDB%';
-- 10.11.6-MariaDB-0+deb12u1 -> 101106; 8.0.36 -> 80036
SET @dbk_version = CAST(SUBSTRING_INDEX(VERSION(), '.', 1) AS UNSIGNED) * 10000
    + CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(VERSION(), '.', 2), '.', -1) AS UNSIGNED) * 100
    + CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(VERSION(), '-', 1), '.', 3), '.', -1) AS UNSIGNED);
SET @dbk_ident = CONCAT('`', REPLACE(@app_schema, '`', '``'), '`');
-- Stop here, before granting anything, when @app_schema is missing or
-- names no schema: the "unknown column" error carries the message.
SET @dbk_sql = IF(EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @app_schema),
    'DO 0', 'SELECT `mysql-user.sql: set @app_schema to an existing schema`');
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;
-- A client that goes on after an error (SOURCE in an interactive session)
-- must still grant nothing: without a valid schema the account is NULL, and
-- so is every statement built from it.
SET @dbk_account = IF(EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @app_schema),
    CONCAT(QUOTE(@agent_user), '@', QUOTE(@agent_host)), NULL);

-- ---- The account ----
SET @dbk_sql = CONCAT('CREATE USER IF NOT EXISTS ', @dbk_account,
    CASE
    WHEN @agent_password IS NOT NULL THEN CONCAT(' IDENTIFIED BY ', QUOTE(@agent_password))
    WHEN @dbk_mariadb THEN ' IDENTIFIED VIA unix_socket'
    ELSE ' ACCOUNT LOCK'
    END);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;

-- ---- The application schema ----
SET @dbk_sql = CONCAT('GRANT SELECT, INSERT, ALTER, INDEX, DROP',
    IF(@dbk_mariadb, '', ', CREATE'), ' ON ', @dbk_ident, '.* TO ', @dbk_account);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;

-- One log table: DELETE on that table only. 'table' or 'schema.table'.
SET @dbk_sql = IF(COALESCE(@log_table, '') = '', 'DO 0', CONCAT('GRANT DELETE ON ',
    IF(LOCATE('.', @log_table) > 0,
       CONCAT('`', REPLACE(SUBSTRING_INDEX(@log_table, '.', 1), '`', '``'), '`.`',
              REPLACE(SUBSTRING(@log_table, LOCATE('.', @log_table) + 1), '`', '``'), '`'),
       CONCAT(@dbk_ident, '.`', REPLACE(@log_table, '`', '``'), '`')),
    ' TO ', @dbk_account));
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;

-- ---- Server-wide observation ----
SET @dbk_sql = CONCAT('GRANT PROCESS ON *.* TO ', @dbk_account);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;
SET @dbk_sql = CONCAT('GRANT SELECT ON performance_schema.* TO ', @dbk_account);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;
SET @dbk_sql = CONCAT('GRANT SELECT ON mysql.innodb_table_stats TO ', @dbk_account);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;
SET @dbk_sql = CONCAT('GRANT SELECT ON mysql.innodb_index_stats TO ', @dbk_account);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;
-- Is this a replica? How far behind are the replicas?
SET @dbk_sql = CONCAT('GRANT ',
    IF(@dbk_mariadb AND @dbk_version >= 100509, 'SLAVE MONITOR', 'REPLICATION CLIENT'),
    ' ON *.* TO ', @dbk_account);
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;

-- ---- Binary log retention (optional) ----
SET @dbk_sql = IF(NOT @server_logs, 'DO 0', CONCAT('GRANT ',
    CASE
    WHEN @dbk_mariadb AND @dbk_version >= 100502 THEN 'BINLOG MONITOR, BINLOG ADMIN, REPLICATION MASTER ADMIN'
    WHEN NOT @dbk_mariadb AND @dbk_version >= 80000 THEN 'REPLICATION CLIENT, BINLOG_ADMIN, REPLICATION SLAVE'
    ELSE 'REPLICATION CLIENT, SUPER, REPLICATION SLAVE'
    END, ' ON *.* TO ', @dbk_account));
PREPARE dbk_stmt FROM @dbk_sql; EXECUTE dbk_stmt; DEALLOCATE PREPARE dbk_stmt;

-- ---- Server log tables (optional; this script does not grant them) ----
-- With log_output=TABLE the server logs into mysql.slow_log and
-- mysql.general_log, and a policy's server_logs section has dbkeeper
-- rotate them: log tables refuse DELETE, so the entries to keep are copied
-- into mysql.<table>_dbk_new, one RENAME swaps it in as mysql.<table>_dbk_old
-- goes out, and that one is dropped. Each of the three names needs SELECT,
-- INSERT, CREATE, DROP and ALTER (RENAME takes ALTER and DROP on the old
-- name, CREATE and INSERT on the new one). Caution: DROP and ALTER on a log
-- table also let the account drop or alter it. Verified on MariaDB 10.11;
-- run as an administrator, with the account named as above:
--
--   GRANT SELECT, INSERT, CREATE, DROP, ALTER ON mysql.slow_log TO 'dbkeeper'@'localhost';
--   GRANT SELECT, INSERT, CREATE, DROP, ALTER ON mysql.slow_log_dbk_new TO 'dbkeeper'@'localhost';
--   GRANT SELECT, INSERT, CREATE, DROP, ALTER ON mysql.slow_log_dbk_old TO 'dbkeeper'@'localhost';
--   GRANT SELECT, INSERT, CREATE, DROP, ALTER ON mysql.general_log TO 'dbkeeper'@'localhost';
--   GRANT SELECT, INSERT, CREATE, DROP, ALTER ON mysql.general_log_dbk_new TO 'dbkeeper'@'localhost';
--   GRANT SELECT, INSERT, CREATE, DROP, ALTER ON mysql.general_log_dbk_old TO 'dbkeeper'@'localhost';
--
-- When the binary log is on, the rotation runs with SET SESSION
-- sql_log_bin = 0 (each server rotates its own log tables; a replica must
-- not replay the primary's), which needs BINLOG ADMIN (MariaDB 10.5.2+;
-- granted above unless @server_logs = 0), SUPER (older MariaDB, MySQL 5.7)
-- or SYSTEM_VARIABLES_ADMIN / SESSION_VARIABLES_ADMIN (MySQL 8):
--
--   GRANT BINLOG ADMIN ON *.* TO 'dbkeeper'@'localhost';
--
-- Without SELECT on a log table dbkeeper leaves that table alone; without
-- the rest its rotation fails with the server's message.

SELECT CONCAT('mysql-user.sql: ', @dbk_account, ' ready for schema ', @dbk_ident) AS dbkeeper;
