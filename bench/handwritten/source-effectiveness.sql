-- source-effectiveness: per source with at least 20 applications: applications, how many reached
-- an onsite stage, hires, and both rates.
-- By hand: "reached an onsite stage" from application_stage_kinds (the store's bitmask of the
-- stage kinds each application entered; onsite is 32), joined once.
WITH g AS (
    SELECT so.name, so.kind,
           count(*) AS applications,
           count(*) FILTER (WHERE k.reached_kinds & 32 <> 0) AS onsites,
           count(*) FILTER (WHERE a.status = 'hired') AS hires
    FROM applications a
    LEFT JOIN application_stage_kinds k ON k.org_id = a.org_id AND k.application_id = a.id
    LEFT JOIN sources so ON so.org_id = a.org_id AND so.id = a.source_id
    WHERE a.org_id = :'org' AND a.source_id IS NOT NULL
    GROUP BY so.name, so.kind
)
SELECT name AS source, kind, applications, onsites, hires,
       round((onsites::float8 / applications::float8)::numeric, 4)::float8 AS onsite_rate,
       round((hires::float8 / applications::float8)::numeric, 4)::float8 AS hire_rate
FROM g
WHERE applications >= 20
ORDER BY hire_rate DESC, applications DESC, name COLLATE "C" NULLS LAST, kind COLLATE "C" NULLS LAST;
