-- funnel: of the applications made in the last 365 days (local midnights in the org's zone),
-- how many reached each step (a stage of that kind, or of a later step's kind), the
-- pass-through from the step before and the share of the first step.
-- By hand: one pass over those applications joined to application_stage_kinds (the store's
-- bitmask of the stage kinds each application entered: lead 1, application_review 2, screen 4,
-- assessment 8, interview 16, onsite 32, offer 64, hired 128), one count per step with the mask
-- of that step's kind and every later step's kind (230, 228, 224, 192, 128), and the five rows
-- from one VALUES list.
WITH g AS (
    SELECT count(*) FILTER (WHERE k.reached_kinds & 230 <> 0) AS m0,
           count(*) FILTER (WHERE k.reached_kinds & 228 <> 0) AS m1,
           count(*) FILTER (WHERE k.reached_kinds & 224 <> 0) AS m2,
           count(*) FILTER (WHERE k.reached_kinds & 192 <> 0) AS m3,
           count(*) FILTER (WHERE k.reached_kinds & 128 <> 0) AS m4
    FROM applications a
    LEFT JOIN application_stage_kinds k ON k.org_id = a.org_id AND k.application_id = a.id
    WHERE a.org_id = :'org'
      AND a.applied_at >= (date :'today' + 1 - 365)::timestamp AT TIME ZONE :'tz'
      AND a.applied_at < (date :'today' + 1)::timestamp AT TIME ZONE :'tz'
)
SELECT v.stage, v.step::bigint AS step, v.reached::bigint AS reached,
       v.reached::float8 / NULLIF(v.prev, 0) AS pass_through,
       v.reached::float8 / NULLIF(g.m0, 0) AS overall
FROM g
CROSS JOIN LATERAL (VALUES
    ('application_review', 1, g.m0, g.m0),
    ('screen', 2, g.m1, g.m0),
    ('onsite', 3, g.m2, g.m1),
    ('offer', 4, g.m3, g.m2),
    ('hired', 5, g.m4, g.m3)
) AS v (stage, step, reached, prev)
ORDER BY v.step;
