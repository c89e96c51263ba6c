-- Foundation: items, a fixed paper, exam sessions, candidates, attempts and answers.
-- Times are UTC (DATETIME(3)); the server computes and enforces every deadline.

CREATE TABLE app_setting (
  name  VARCHAR(64)  NOT NULL PRIMARY KEY,
  value VARCHAR(512) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per item version. uid is stable across versions; (uid, version) is unique.
CREATE TABLE item (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uid           VARCHAR(64)  NOT NULL,
  version       INT UNSIGNED NOT NULL DEFAULT 1,
  type          VARCHAR(16)  NOT NULL,              -- 'single' (later: multi, tf, fill, short, essay, composite, practical)
  stem          MEDIUMTEXT   NOT NULL,
  options       MEDIUMTEXT   NOT NULL,              -- JSON array of option texts, keys A.. in order
  answer_key    VARCHAR(1024) NOT NULL,             -- never sent to a candidate
  points_centi  INT UNSIGNED NOT NULL,              -- points x 100
  difficulty    TINYINT UNSIGNED NULL,              -- 1..5
  point_code    VARCHAR(64)  NULL,                  -- 鉴定点代码
  explanation   MEDIUMTEXT   NULL,
  source        VARCHAR(255) NULL,
  content_hash  BINARY(32)   NOT NULL,              -- SHA-256 of the normalized stem+options, for duplicate detection
  status        VARCHAR(16)  NOT NULL DEFAULT 'approved',
  import_file   VARCHAR(255) NULL,
  import_line   INT UNSIGNED NULL,
  created_at    DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY item_uid_version (uid, version),
  KEY item_content (content_hash),
  KEY item_point (point_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE paper (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code         VARCHAR(64)  NOT NULL UNIQUE,
  title        VARCHAR(255) NOT NULL,
  total_centi  INT UNSIGNED NOT NULL,
  created_at   DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE paper_item (
  paper_id      BIGINT UNSIGNED NOT NULL,
  position      INT UNSIGNED NOT NULL,              -- 1-based order on the paper
  item_id       BIGINT UNSIGNED NOT NULL,
  section       VARCHAR(128) NOT NULL DEFAULT '',
  points_centi  INT UNSIGNED NOT NULL,
  PRIMARY KEY (paper_id, position),
  UNIQUE KEY paper_item_once (paper_id, item_id),
  CONSTRAINT fk_pi_paper FOREIGN KEY (paper_id) REFERENCES paper(id),
  CONSTRAINT fk_pi_item  FOREIGN KEY (item_id)  REFERENCES item(id)
) ENGINE=InnoDB;

CREATE TABLE exam_session (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code          VARCHAR(64)  NOT NULL UNIQUE,
  title         VARCHAR(255) NOT NULL,
  paper_id      BIGINT UNSIGNED NOT NULL,
  opens_at      DATETIME(3)  NOT NULL,              -- candidates may start from here
  closes_at     DATETIME(3)  NOT NULL,              -- no attempt runs past this
  duration_s    INT UNSIGNED NOT NULL,
  show_score    TINYINT(1)   NOT NULL DEFAULT 0,    -- show the candidate the score after submit
  created_at    DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  CONSTRAINT fk_session_paper FOREIGN KEY (paper_id) REFERENCES paper(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE candidate (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id_number   VARCHAR(32)  NOT NULL UNIQUE,         -- 身份证号, normalized upper case
  name        VARCHAR(128) NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A candidate's seat in one session (admission ticket) and the state of their attempt.
CREATE TABLE attempt (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id    BIGINT UNSIGNED NOT NULL,
  candidate_id  BIGINT UNSIGNED NOT NULL,
  ticket_no     VARCHAR(32)  NOT NULL UNIQUE,         -- 准考证号
  status        ENUM('not_started','in_progress','submitted') NOT NULL DEFAULT 'not_started',
  extra_time_s  INT UNSIGNED NOT NULL DEFAULT 0,      -- per-candidate extra time
  started_at    DATETIME(3)  NULL,
  deadline_at   DATETIME(3)  NULL,                    -- computed by the server at start
  submitted_at  DATETIME(3)  NULL,
  submit_reason ENUM('candidate','deadline') NULL,
  score_centi   INT UNSIGNED NULL,
  last_seq      BIGINT UNSIGNED NOT NULL DEFAULT 0,   -- highest answer seq committed
  UNIQUE KEY attempt_once (session_id, candidate_id),
  KEY attempt_due (status, deadline_at),
  CONSTRAINT fk_attempt_session FOREIGN KEY (session_id) REFERENCES exam_session(id),
  CONSTRAINT fk_attempt_candidate FOREIGN KEY (candidate_id) REFERENCES candidate(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE answer (
  attempt_id  BIGINT UNSIGNED NOT NULL,
  item_id     BIGINT UNSIGNED NOT NULL,
  response    VARCHAR(4000) NOT NULL,               -- '' clears the answer
  seq         BIGINT UNSIGNED NOT NULL,             -- the client's per-attempt sequence number
  saved_at    DATETIME(3)  NOT NULL,
  PRIMARY KEY (attempt_id, item_id),
  CONSTRAINT fk_answer_attempt FOREIGN KEY (attempt_id) REFERENCES attempt(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Client events (connect, disconnect, focus loss...), written in batches.
CREATE TABLE attempt_event (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  attempt_id  BIGINT UNSIGNED NOT NULL,
  kind        VARCHAR(32)  NOT NULL,
  detail      VARCHAR(255) NOT NULL DEFAULT '',
  at          DATETIME(3)  NOT NULL,
  KEY event_attempt (attempt_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
