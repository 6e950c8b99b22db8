-- time-in-stage: per stage kind, the stage entries that have been left (a later transition of
-- the same application exists, ordered by time then id), their count and the median and p90 of
-- the days until the next transition; kinds in their pipeline order
-- (lead, application review, screen, ..., hired).
-- By hand: the next transition from a window function over each application's transitions
-- (instead of a correlated MIN sub-query per transition, three times).
-- The store keeps when each stay ended (`stage_transitions.left_at`, derived at import), so
-- the best SQL reads it rather than ordering the history with a window function.
SELECT s.kind AS stage,
       count(*) AS entries,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.left_at - t.at)::float8 / 86400.0)::numeric, 1)::float8 AS median_days,
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.left_at - t.at)::float8 / 86400.0)::numeric, 1)::float8 AS p90_days
FROM stage_transitions t
LEFT JOIN stages s ON s.org_id = t.org_id AND s.id = t.to_stage_id
WHERE t.org_id = :'org' AND t.left_at IS NOT NULL
GROUP BY s.kind
ORDER BY array_position(ARRAY['lead', 'application_review', 'screen', 'assessment', 'interview', 'onsite', 'offer', 'hired'], s.kind), s.kind COLLATE "C" NULLS LAST;
