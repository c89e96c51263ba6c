-- The history of every answer: each change the server applied (the one `answer` then held
-- for the item), written in the transaction that wrote the `answer` row, never changed
-- afterwards. A change that was not applied (an older seq, a replay, a refusal) is not here.
-- Examiners and the audit log read a candidate's answers as they went.
CREATE TABLE answer_history (
  attempt_id  BIGINT UNSIGNED NOT NULL,
  item_id     BIGINT UNSIGNED NOT NULL,
  seq         BIGINT UNSIGNED NOT NULL,             -- the client's per-attempt sequence number
  response    VARCHAR(4000) NOT NULL,               -- as stored in answer ('' clears it)
  saved_at    DATETIME(3)  NOT NULL,                -- server time (UTC), as answer.saved_at
  node        VARCHAR(64)  NOT NULL,                -- server.node_id of the node that applied it
  conn_id     BIGINT UNSIGNED NOT NULL,             -- that node's connection: slot << 32 | generation
  PRIMARY KEY (attempt_id, item_id, seq),           -- one item's changes in order
  KEY answer_history_attempt (attempt_id, seq),     -- all changes of an attempt in order
  CONSTRAINT fk_ahist_attempt FOREIGN KEY (attempt_id) REFERENCES attempt(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Answers stored before this migration: what each item holds is its last change, so the
-- history of every item ends with its `answer` row. Node and connection are unknown.
INSERT INTO answer_history (attempt_id, item_id, seq, response, saved_at, node, conn_id)
  SELECT attempt_id, item_id, seq, response, saved_at, '005_answer_history', 0 FROM answer;
