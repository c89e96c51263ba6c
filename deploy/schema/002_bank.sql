-- The question bank: occupations and their blueprints (鉴定要素细目表), every item type,
-- immutable versions with a review lifecycle, media, staff accounts and import reports.

-- Occupations by national code (2022 职业分类大典), e.g. 4-04-04-02 网络与信息安全管理员.
CREATE TABLE occupation (
  code              VARCHAR(16)  NOT NULL PRIMARY KEY,   -- N-NN-NN-NN
  name              VARCHAR(128) NOT NULL,
  standard_edition  VARCHAR(64)  NULL,                   -- edition of the 国家职业技能标准
  levels            VARCHAR(16)  NOT NULL DEFAULT '',    -- levels offered, e.g. '4,3'
  created_at        DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE work_type (                                  -- 工种
  occupation_code  VARCHAR(16)  NOT NULL,
  name             VARCHAR(128) NOT NULL,
  PRIMARY KEY (occupation_code, name),
  CONSTRAINT fk_wt_occupation FOREIGN KEY (occupation_code) REFERENCES occupation(code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One blueprint per occupation + level + part; importing it again replaces its nodes.
CREATE TABLE blueprint (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  occupation_code  VARCHAR(16)  NOT NULL,
  level            TINYINT UNSIGNED NOT NULL,             -- 5 五级/初级工 .. 1 一级/高级技师
  part             ENUM('theory','skills') NOT NULL,
  source_file      VARCHAR(255) NULL,
  updated_at       DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY blueprint_once (occupation_code, level, part),
  CONSTRAINT fk_bp_occupation FOREIGN KEY (occupation_code) REFERENCES occupation(code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- 鉴定范围 (range, with 鉴定比重) and 鉴定点 (point, with 重要程度 X/Y/Z), in outline order.
CREATE TABLE blueprint_node (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  blueprint_id  BIGINT UNSIGNED NOT NULL,
  parent_id     BIGINT UNSIGNED NULL,
  position      INT UNSIGNED NOT NULL,                    -- outline order within the blueprint
  depth         TINYINT UNSIGNED NOT NULL,
  kind          ENUM('range','point') NOT NULL,
  code          VARCHAR(64)  NOT NULL,
  name          VARCHAR(255) NOT NULL,
  weight_centi  INT UNSIGNED NULL,                        -- ranges: % x 100
  importance    ENUM('X','Y','Z') NULL,                   -- points
  UNIQUE KEY bp_node_code (blueprint_id, code),
  KEY bp_node_parent (parent_id),
  CONSTRAINT fk_bpn_blueprint FOREIGN KEY (blueprint_id) REFERENCES blueprint(id) ON DELETE CASCADE,
  CONSTRAINT fk_bpn_parent FOREIGN KEY (parent_id) REFERENCES blueprint_node(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Items: one row per version. A version is immutable once any paper holds it; an edit
-- then makes a new version. Sub-items of a composite item are rows of their own with
-- parent_id = the composite version's id (they are versioned with it and never drawn alone).
ALTER TABLE item
  MODIFY type         VARCHAR(16) NOT NULL,              -- single multi tf fill short essay composite practical
  MODIFY answer_key   MEDIUMTEXT  NOT NULL,              -- never sent to a candidate before results are published
  MODIFY status       VARCHAR(16) NOT NULL DEFAULT 'draft',   -- draft reviewed approved retired
  ADD COLUMN mc_policy       VARCHAR(8)   NULL AFTER answer_key,    -- multi: all half ratio
  ADD COLUMN pin_options     TINYINT(1)   NOT NULL DEFAULT 0 AFTER options,
  ADD COLUMN spec            MEDIUMTEXT   NULL,             -- practical: {"time_minutes","equipment","criteria":[{"text","points","veto"}]}
  ADD COLUMN occupation_code VARCHAR(16)  NULL,
  ADD COLUMN level           TINYINT UNSIGNED NULL,
  ADD COLUMN tags            VARCHAR(2048) NULL,            -- JSON array of strings
  ADD COLUMN author          VARCHAR(128) NULL,             -- 命题人 as given by the file or editor
  ADD COLUMN parent_id       BIGINT UNSIGNED NULL,          -- composite sub-item: the composite version
  ADD COLUMN sub_no          INT UNSIGNED NULL,             -- 1-based position within the composite
  ADD COLUMN full_hash       BINARY(32)   NULL,             -- SHA-256 over everything a version is
  ADD COLUMN created_by      VARCHAR(128) NULL,             -- the account or CLI user that made this version
  ADD COLUMN status_by       VARCHAR(128) NULL,             -- who made the last status change
  ADD COLUMN status_at       DATETIME(3)  NULL,
  ADD KEY item_browse (occupation_code, level, status, type),
  ADD KEY item_parent (parent_id),
  ADD CONSTRAINT fk_item_parent FOREIGN KEY (parent_id) REFERENCES item(id);

-- Every lifecycle step and edit: who, when, from which status to which, and why.
CREATE TABLE item_review (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  item_id      BIGINT UNSIGNED NOT NULL,
  action       VARCHAR(16)  NOT NULL,                    -- import edit review approve return retire restore
  from_status  VARCHAR(16)  NULL,
  to_status    VARCHAR(16)  NOT NULL,
  actor        VARCHAR(128) NOT NULL,
  comment      TEXT         NULL,
  at           DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY review_item (item_id, at),
  CONSTRAINT fk_review_item FOREIGN KEY (item_id) REFERENCES item(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Images and attachments, stored once by content (SHA-256) and named per item version.
CREATE TABLE media (
  sha256      BINARY(32)   NOT NULL PRIMARY KEY,
  mime        VARCHAR(100) NOT NULL,
  size        INT UNSIGNED NOT NULL,
  bytes       LONGBLOB     NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB;

CREATE TABLE item_media (
  item_id  BIGINT UNSIGNED NOT NULL,
  name     VARCHAR(255) NOT NULL,                        -- referenced in rich text as media:NAME
  sha256   BINARY(32)   NOT NULL,
  PRIMARY KEY (item_id, name),
  CONSTRAINT fk_im_item FOREIGN KEY (item_id) REFERENCES item(id),
  CONSTRAINT fk_im_media FOREIGN KEY (sha256) REFERENCES media(sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Staff accounts for the browser (authors, reviewers, exam affairs, proctors, examiners,
-- supervisors). Passwords are Argon2id strings (libsodium crypto_pwhash_str).
CREATE TABLE staff_user (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  login          VARCHAR(64)  NOT NULL UNIQUE,
  name           VARCHAR(128) NOT NULL,
  roles          SET('admin','author','reviewer','affairs','proctor','examiner','supervisor') NOT NULL,
  password_hash  VARCHAR(255) NOT NULL,
  disabled       TINYINT(1)   NOT NULL DEFAULT 0,
  created_at     DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  last_login_at  DATETIME(3)  NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per bank import (CLI or browser), with the report the author read.
CREATE TABLE bank_import (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  file          VARCHAR(255) NOT NULL,
  format        VARCHAR(16)  NOT NULL,
  actor         VARCHAR(128) NOT NULL,
  items_new     INT UNSIGNED NOT NULL DEFAULT 0,
  versions_new  INT UNSIGNED NOT NULL DEFAULT 0,
  unchanged     INT UNSIGNED NOT NULL DEFAULT 0,
  rejected      INT UNSIGNED NOT NULL DEFAULT 0,
  report        MEDIUMTEXT   NOT NULL,
  at            DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
