-- The hash of each attempt's rendered view (paper_render.hash), written by the render in the
-- same transaction as the view: a batch of starts reads it with the attempt rows it locks,
-- in one statement, instead of a second one over paper_render. NULL: no view yet (or one
-- rendered by a node older than this column; a start then reads paper_render, and a hash
-- left behind by such a node only sends that start the slow way, which reads the view).
ALTER TABLE attempt
  ADD COLUMN paper_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER last_seq;
UPDATE attempt a JOIN paper_render r ON r.attempt_id = a.id SET a.paper_hash = r.hash;
