-- The default orders of the API's lists (newest first: `server::graphql::order`): one index per
-- list on (org_id, its timestamp DESC, id DESC), so that a page is read in order from the index
-- instead of sorting every row of the org. A list ordered otherwise (`orderBy`) sorts.
CREATE INDEX applications_newest ON applications (org_id, applied_at DESC, id DESC);
CREATE INDEX candidates_newest ON candidates (org_id, created_at DESC, id DESC);
CREATE INDEX stage_transitions_newest ON stage_transitions (org_id, at DESC, id DESC);
CREATE INDEX interviews_newest ON interviews (org_id, starts_at DESC, id DESC);
CREATE INDEX feedback_newest ON feedback (org_id, submitted_at DESC, id DESC);
CREATE INDEX offers_newest ON offers (org_id, created_at DESC, id DESC);
