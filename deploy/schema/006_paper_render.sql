-- The candidate's view of each paper, rendered once when the session is prepared (not on the
-- start click): `start` reads this row (or a cache of it) and splices paper_json into its
-- reply as it is. A row belongs to its paper_instance and goes with it.
--   paper_json    the `paper` object of the reply without its hash: {"title","total_points",
--                 "items":[...]}, items in the order shown, options as shown, media links
--                 signed until media_expires; never a key, an explanation or a scoring rule
--   hash          SHA-256 of paper_json in lower-case hex: a client that holds this paper
--                 sends it with `start` and gets {"unchanged":true} instead of the items
--   answer_check  what the service thread checks an answer against, so the connection's
--                 paper is rebuilt without the item table: one "ID,TYPE,OPTIONS,BLANKS;" per
--                 answerable item (a composite's sub-items, never the composite), by id
--   media_expires the expiry of every signed link in paper_json: the session's closes_at
--                 plus an hour. A deadline never passes closes_at, so the links outlive
--                 every deadline; when closes_at changes, serve's prepare pass finds rows
--                 whose media_expires no longer fits it and renders them again
CREATE TABLE paper_render (
  attempt_id     BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  session_id     BIGINT UNSIGNED NOT NULL,
  hash           CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  paper_json     MEDIUMTEXT   NOT NULL,
  answer_check   MEDIUMTEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  media_expires  DATETIME(3)  NOT NULL,
  rendered_at    DATETIME(3)  NOT NULL,
  KEY render_session (session_id),
  CONSTRAINT fk_render_instance FOREIGN KEY (attempt_id) REFERENCES paper_instance(attempt_id)
    ON DELETE CASCADE,
  CONSTRAINT fk_render_session FOREIGN KEY (session_id) REFERENCES exam_session(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
