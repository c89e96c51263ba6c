-- Which node holds a candidate's live connection, so that the one-connection rule holds
-- across nodes: a login on another node is refused while the holder is alive, and a resume
-- on another node takes the attempt over and tells the old node (holder_taken_from and _at,
-- polled with the deadline changes) to close its connection. holder_boot tells one run of a node
-- from the next: what a node held before it was restarted is nobody's any more.
-- node_alive: each node's lease, renewed every 2 s for 20 s (MariaDB's clock on both
-- sides); a node that stops renewing holds nothing once its lease has run out.
ALTER TABLE attempt
  ADD COLUMN holder_node VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER paper_hash,
  ADD COLUMN holder_boot BIGINT UNSIGNED NULL AFTER holder_node,
  ADD COLUMN holder_taken_from VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER holder_boot,
  ADD COLUMN holder_taken_at DATETIME(3) NULL AFTER holder_taken_from,
  ADD KEY attempt_holder_taken (holder_taken_from, holder_taken_at);

CREATE TABLE node_alive (
  node_id     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  boot        BIGINT UNSIGNED NOT NULL,
  alive_until DATETIME(3) NOT NULL
) ENGINE=InnoDB;
