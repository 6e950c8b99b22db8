-- When each stay in a stage ended: the time of the application's next stage transition (by
-- `at`, then by id), NULL while the application is still in the stage. Derived by the store from
-- the history (on import, and by every change to an application's history), so that "time in
-- stage" reports read it instead of ordering the whole history.
ALTER TABLE stage_transitions ADD COLUMN left_at timestamptz;
