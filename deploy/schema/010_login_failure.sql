-- Logins shared between the nodes on this database for the throttle: failures (a wrong ID
-- number for a ticket, a wrong staff password) and the successes that forgive them. Each
-- node writes its own every 2 s and counts the others' as if they had happened there, so
-- a guesser spread over the nodes behind a load balancer gets no more tries than on one
-- node, and a restarted node starts with the recent ones. (boot, seq) names a row once, so
-- a batch written again after a lost connection adds nothing. Rows older than an hour are
-- deleted by the nodes.
CREATE TABLE login_failure (
  id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  node     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  boot     BIGINT UNSIGNED NOT NULL,                   -- the writing run (attempt.holder_boot's)
  seq      BIGINT UNSIGNED NOT NULL,                   -- its number in that run
  kind     TINYINT UNSIGNED NOT NULL,                  -- 0 a candidate's ticket, 1 a staff login
  ok       TINYINT UNSIGNED NOT NULL DEFAULT 0,        -- 1: a success that forgives earlier failures
  who      VARCHAR(64) NOT NULL,                       -- the ticket or login as sent
  address  VARCHAR(46) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  at       DATETIME(3) NOT NULL,
  UNIQUE KEY login_failure_once (boot, seq),
  KEY login_failure_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
