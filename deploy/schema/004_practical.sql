-- The practical part (技能考核) of a session: stations (工位), the task pool, and which
-- task each candidate performs at which station in which time slot (docs/PRACTICAL.md).
-- `kaochang session practical` replaces all of it in one transaction.

-- The settings of the last assignment, so that running it again without options gives the
-- same plan (and a re-run after adding candidates keeps the seed and times).
ALTER TABLE exam_session
  ADD COLUMN practical_seed        BIGINT UNSIGNED NULL,
  ADD COLUMN practical_starts_at   DATETIME(3) NULL,           -- slot 1
  ADD COLUMN practical_tasks_each  TINYINT UNSIGNED NULL,      -- tasks per candidate
  ADD COLUMN practical_slot_min    SMALLINT UNSIGNED NULL,     -- as given; 0: longest task + changeover
  ADD COLUMN practical_change_min  SMALLINT UNSIGNED NULL,     -- changeover between slots
  ADD COLUMN practical_assigned_at DATETIME(3) NULL;

CREATE TABLE practical_station (
  session_id  BIGINT UNSIGNED NOT NULL,
  code        VARCHAR(32)  NOT NULL,                -- 工位01
  name        VARCHAR(128) NOT NULL,
  position    SMALLINT UNSIGNED NOT NULL,           -- 1-based; neighbours are position and position + 1
  PRIMARY KEY (session_id, code),
  UNIQUE KEY station_position (session_id, position),
  CONSTRAINT fk_station_session FOREIGN KEY (session_id) REFERENCES exam_session(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The pool the assignment drew from (item versions, in the order dealt from).
CREATE TABLE practical_task (
  session_id  BIGINT UNSIGNED NOT NULL,
  position    SMALLINT UNSIGNED NOT NULL,
  item_id     BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (session_id, position),
  UNIQUE KEY practical_task_once (session_id, item_id),
  CONSTRAINT fk_ptask_session FOREIGN KEY (session_id) REFERENCES exam_session(id),
  CONSTRAINT fk_ptask_item FOREIGN KEY (item_id) REFERENCES item(id)
) ENGINE=InnoDB;

CREATE TABLE practical_assignment (
  session_id    BIGINT UNSIGNED NOT NULL,
  attempt_id    BIGINT UNSIGNED NOT NULL,
  task_no       TINYINT UNSIGNED NOT NULL,          -- 1..tasks per candidate
  item_id       BIGINT UNSIGNED NOT NULL,
  station_code  VARCHAR(32) NOT NULL,
  slot_no       INT UNSIGNED NOT NULL,              -- 1-based
  starts_at     DATETIME(3) NOT NULL,
  ends_at       DATETIME(3) NOT NULL,               -- starts_at + the task's 考核时间
  PRIMARY KEY (attempt_id, task_no),
  UNIQUE KEY assignment_cell (session_id, station_code, slot_no),
  KEY assignment_slot (session_id, slot_no),
  CONSTRAINT fk_pa_session FOREIGN KEY (session_id) REFERENCES exam_session(id),
  CONSTRAINT fk_pa_attempt FOREIGN KEY (attempt_id) REFERENCES attempt(id),
  CONSTRAINT fk_pa_item FOREIGN KEY (item_id) REFERENCES item(id),
  CONSTRAINT fk_pa_station FOREIGN KEY (session_id, station_code)
    REFERENCES practical_station(session_id, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
