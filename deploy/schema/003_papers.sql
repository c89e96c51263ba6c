-- Paper assembly: templates (组卷方案), the paper of every attempt made before the session
-- opens (千人千卷 or parallel forms), and seats for the neighbour rule.

-- A template as canonical JSON (docs/PAPERS.md) and its last feasibility check against the
-- approved bank. An infeasible template cannot be used for a session.
CREATE TABLE paper_template (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code             VARCHAR(64)  NOT NULL UNIQUE,
  title            VARCHAR(255) NOT NULL,
  occupation_code  VARCHAR(16)  NULL,
  level            TINYINT UNSIGNED NULL,
  part             ENUM('theory','skills') NOT NULL DEFAULT 'theory',
  mode             ENUM('blueprint','type','fixed') NOT NULL,
  total_centi      INT UNSIGNED NOT NULL,
  spec             MEDIUMTEXT   NOT NULL,
  feasible         TINYINT(1)   NOT NULL DEFAULT 0,
  report           MEDIUMTEXT   NOT NULL,                 -- one line per unmet rule; '' when feasible
  checked_at       DATETIME(3)  NOT NULL,
  source_file      VARCHAR(255) NULL,
  created_by       VARCHAR(128) NULL,
  created_at       DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  updated_at       DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A session draws its papers from a template (or, as before, hands out one fixed paper).
ALTER TABLE exam_session
  MODIFY paper_id          BIGINT UNSIGNED NULL,
  ADD COLUMN template_id      BIGINT UNSIGNED NULL AFTER paper_id,
  ADD COLUMN forms            TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER template_id,  -- 0: a paper per candidate; N: N parallel forms (A/B/C卷)
  ADD COLUMN seed             BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER forms,
  ADD COLUMN exposure_cap_pct TINYINT UNSIGNED NULL AFTER seed,                       -- NULL: the template's
  ADD COLUMN shuffle          TINYINT UNSIGNED NULL AFTER exposure_cap_pct,           -- NULL: the template's; bit 1 items, bit 2 options
  ADD COLUMN seat_columns     SMALLINT UNSIGNED NOT NULL DEFAULT 0 AFTER shuffle,     -- seats per row, for neighbours (0: one row)
  ADD COLUMN prepared_at      DATETIME(3) NULL,                                       -- when every attempt last had its paper
  ADD CONSTRAINT fk_session_template FOREIGN KEY (template_id) REFERENCES paper_template(id);

-- Where a candidate sits (考场, 座位号): neighbours must not get the same paper.
ALTER TABLE attempt
  ADD COLUMN room VARCHAR(64) NULL AFTER ticket_no,
  ADD COLUMN seat SMALLINT UNSIGNED NULL AFTER room,
  ADD KEY attempt_seat (session_id, room, seat);

-- One run of `session prepare`: the template and blueprint as used, so every paper can be
-- regenerated from its seed and audited.
CREATE TABLE paper_build (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id      BIGINT UNSIGNED NOT NULL,
  spec            MEDIUMTEXT   NOT NULL,
  blueprint       MEDIUMTEXT   NULL,                      -- JSON snapshot (blueprint mode)
  papers          INT UNSIGNED NOT NULL,                  -- papers this build made
  exposure_limit  INT UNSIGNED NOT NULL,                  -- most papers one item may be on (0: none)
  engine          VARCHAR(32)  NOT NULL,                  -- the generator (BANK_PAPER_ENGINE) that drew its papers
  created_by      VARCHAR(128) NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY build_session (session_id),
  CONSTRAINT fk_build_session FOREIGN KEY (session_id) REFERENCES exam_session(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The pool a build drew from. These versions are held like a paper's: an edit makes a new
-- version, so regenerating from a seed finds the same items.
CREATE TABLE paper_build_item (
  build_id  BIGINT UNSIGNED NOT NULL,
  item_id   BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (build_id, item_id),
  KEY build_item (item_id),
  CONSTRAINT fk_bi_build FOREIGN KEY (build_id) REFERENCES paper_build(id),
  CONSTRAINT fk_bi_item  FOREIGN KEY (item_id)  REFERENCES item(id)
) ENGINE=InnoDB;

-- Parallel forms of a session (form 1 = A卷).
CREATE TABLE paper_form (
  session_id   BIGINT UNSIGNED NOT NULL,
  form_no      TINYINT UNSIGNED NOT NULL,
  build_id     BIGINT UNSIGNED NOT NULL,
  seed         BIGINT UNSIGNED NOT NULL,
  items        MEDIUMTEXT   NOT NULL,                     -- as paper_instance.items
  total_centi  INT UNSIGNED NOT NULL,
  PRIMARY KEY (session_id, form_no),
  CONSTRAINT fk_form_session FOREIGN KEY (session_id) REFERENCES exam_session(id),
  CONSTRAINT fk_form_build FOREIGN KEY (build_id) REFERENCES paper_build(id)
) ENGINE=InnoDB;

-- The paper of one attempt, made before the session opens: starting is a read of this row.
-- items: [{"i":ITEM_ID,"p":POINTS_CENTI,"s":SECTION,"o":"CADB","c":[[SUB_ID,"BA"],...]},...]
-- in the order shown; "o" is the option order shown (the candidate's A is the item's C).
CREATE TABLE paper_instance (
  attempt_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  session_id   BIGINT UNSIGNED NOT NULL,
  build_id     BIGINT UNSIGNED NOT NULL,
  gen_no       INT UNSIGNED NOT NULL,                     -- generation order (exposure is replayed in it)
  form_no      TINYINT UNSIGNED NULL,                     -- parallel forms: which one
  seed         BIGINT UNSIGNED NOT NULL,
  items        MEDIUMTEXT   NOT NULL,
  n_items      INT UNSIGNED NOT NULL,
  total_centi  INT UNSIGNED NOT NULL,
  created_at   DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY instance_gen (session_id, gen_no),
  CONSTRAINT fk_inst_attempt FOREIGN KEY (attempt_id) REFERENCES attempt(id),
  CONSTRAINT fk_inst_session FOREIGN KEY (session_id) REFERENCES exam_session(id),
  CONSTRAINT fk_inst_build FOREIGN KEY (build_id) REFERENCES paper_build(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
