-- A deadline changed after the start (extra time granted by exam affairs): every node polls
-- these to update the attempts it holds in memory and push the new deadline to the
-- candidate's connection, whichever node made the change.
ALTER TABLE attempt
  ADD COLUMN deadline_changed_at DATETIME(3) NULL AFTER deadline_at,
  ADD KEY attempt_deadline_changed (deadline_changed_at);
