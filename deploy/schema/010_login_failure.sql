-- Failed logins (a wrong ID number for a ticket, a wrong staff password), shared between
-- the nodes on this database: each node writes its own every 2 s and applies the others'
-- to its login throttle, so a guesser spread over the nodes behind a load balancer gets no
-- more tries than on one node, and a restarted node starts with the recent ones. Rows older
-- than an hour are deleted by the nodes. boot: the writing run (attempt.holder_boot's), so
-- a node skips only its own run's rows.
CREATE TABLE login_failure (
  id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  node     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  boot     BIGINT UNSIGNED NOT NULL,
  kind     TINYINT UNSIGNED NOT NULL,                  -- 0 a candidate's ticket, 1 a staff login
  who      VARCHAR(64) NOT NULL,                       -- the ticket or login as sent
  address  VARCHAR(46) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  at       DATETIME(3) NOT NULL,
  KEY login_failure_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
