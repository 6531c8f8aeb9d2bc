-- tests/integration/seed_my.sql: a messy demo database for the MySQL driver.
-- Run with the mariadb client against the database to fill:
--   mariadb --no-defaults -h127.0.0.1 -P"$DBK_MY_PORT" -uroot dbk_demo < seed_my.sql
-- Idempotent: drops everything it creates first. Takes a few seconds.
--
-- Scratch tables a policy should drop: tmp_import_2023, tmp_report_1,
-- orders_bak_20240101, the hostile tmp_x`; DROP TABLE users;-- and tmp_café,
-- and the pt-online-schema-change leftover _orders_old (no pt_osc trigger).
-- Decoys that must survive: temperature, template_pages, tmpl_pages, users,
-- orders. app_log: 100,000 rows over the last 180 days (id order = time
-- order). frag: a table with most of its pages freed (large DATA_FREE).
-- items: a redundant index idx_a (left prefix of idx_a_b).

-- the client's character set follows the locale; the names below are UTF-8
SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';

DROP TABLE IF EXISTS tmp_import_2023, tmp_report_1, orders_bak_20240101,
	temperature, template_pages, tmpl_pages, `tmp_x``; DROP TABLE users;--`,
	`tmp_café`, users, orders, _orders_old, app_log, frag, items, seed_digits;

-- ten rows to cross-join into any count we need
CREATE TABLE seed_digits (d INT NOT NULL PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO seed_digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);

CREATE TABLE users (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	name VARCHAR(100) NOT NULL,
	created_at DATETIME NOT NULL
) ENGINE=InnoDB;
INSERT INTO users (name, created_at)
	SELECT CONCAT('user', a.d * 10 + b.d), NOW() - INTERVAL (a.d * 10 + b.d) DAY
	FROM seed_digits a CROSS JOIN seed_digits b;

CREATE TABLE orders (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	user_id INT NOT NULL,
	amount DECIMAL(10, 2) NOT NULL,
	created_at DATETIME NOT NULL
) ENGINE=InnoDB;
INSERT INTO orders (user_id, amount, created_at)
	SELECT 1 + b.d * 10 + c.d, 10 + a.d, NOW() - INTERVAL (a.d * 100 + b.d * 10 + c.d) HOUR
	FROM seed_digits a CROSS JOIN seed_digits b CROSS JOIN seed_digits c;

-- scratch tables
CREATE TABLE tmp_import_2023 (id INT PRIMARY KEY, payload VARCHAR(200)) ENGINE=InnoDB;
INSERT INTO tmp_import_2023 SELECT a.d * 10 + b.d, REPEAT('x', 100)
	FROM seed_digits a CROSS JOIN seed_digits b;
CREATE TABLE tmp_report_1 (k VARCHAR(50) PRIMARY KEY, v INT) ENGINE=InnoDB;
INSERT INTO tmp_report_1 VALUES ('total', 42), ('open', 7);
CREATE TABLE orders_bak_20240101 LIKE orders;
INSERT INTO orders_bak_20240101 SELECT * FROM orders;
CREATE TABLE `tmp_x``; DROP TABLE users;--` (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO `tmp_x``; DROP TABLE users;--` VALUES (1);
CREATE TABLE `tmp_café` (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB;
INSERT INTO `tmp_café` VALUES (1, 'crème');
-- what pt-online-schema-change leaves when it dies after the swap
CREATE TABLE _orders_old LIKE orders;
INSERT INTO _orders_old SELECT * FROM orders;

-- decoys: near misses of the scratch patterns
CREATE TABLE temperature (id INT PRIMARY KEY, celsius DECIMAL(4, 1)) ENGINE=InnoDB;
INSERT INTO temperature VALUES (1, 21.5), (2, 19.0);
CREATE TABLE template_pages (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
INSERT INTO template_pages VALUES (1, 'home');
CREATE TABLE tmpl_pages (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
INSERT INTO tmpl_pages VALUES (1, 'about');

-- an application log: 100,000 rows, one every ~155 s over 180 days,
-- oldest first so the AUTO_INCREMENT id follows time
CREATE TABLE app_log (
	id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	created_at DATETIME NOT NULL,
	msg VARCHAR(200) NOT NULL,
	KEY idx_created_at (created_at)
) ENGINE=InnoDB;
INSERT INTO app_log (created_at, msg)
	SELECT NOW() - INTERVAL FLOOR(n * 155.52) SECOND, CONCAT('event ', n)
	FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n
	      FROM seed_digits a CROSS JOIN seed_digits b CROSS JOIN seed_digits c
	      CROSS JOIN seed_digits e CROSS JOIN seed_digits f) s
	ORDER BY n DESC;

-- a fragmented table: ~24 MB written, then 90% deleted in one key range,
-- so whole extents become free space inside the file (DATA_FREE)
CREATE TABLE frag (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	pad CHAR(255) NOT NULL,
	pad2 CHAR(100) NOT NULL
) ENGINE=InnoDB;
INSERT INTO frag (pad, pad2)
	SELECT REPEAT('f', 255), REPEAT('g', 100)
	FROM seed_digits a CROSS JOIN seed_digits b CROSS JOIN seed_digits c
	CROSS JOIN seed_digits e CROSS JOIN (SELECT d FROM seed_digits WHERE d < 6) f;
DELETE FROM frag WHERE id > 6000;

-- a redundant index: idx_a is a left prefix of idx_a_b
CREATE TABLE items (
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	a INT NOT NULL,
	b INT NOT NULL,
	KEY idx_a (a),
	KEY idx_a_b (a, b)
) ENGINE=InnoDB;
INSERT INTO items (a, b) SELECT x.d, y.d FROM seed_digits x CROSS JOIN seed_digits y;

DROP TABLE seed_digits;
ANALYZE TABLE users, orders, app_log, frag, items;
