-- pass-through-by-department: per department, applications, and of those that reached a stage
-- of one kind, the share that also reached a stage of the next kind (screen -> onsite,
-- onsite -> offer, offer -> hired).
-- By hand: one pass over the applications joined to application_stage_kinds (the store's
-- bitmask of the stage kinds each application entered: screen 4, onsite 32, offer 64,
-- hired 128), counted per job, then summed per department.
WITH per_job AS (
    SELECT a.job_id,
           count(*) AS applications,
           count(*) FILTER (WHERE k.reached_kinds & 36 = 36) AS screen_onsite,
           count(*) FILTER (WHERE k.reached_kinds & 4 <> 0) AS screen,
           count(*) FILTER (WHERE k.reached_kinds & 96 = 96) AS onsite_offer,
           count(*) FILTER (WHERE k.reached_kinds & 32 <> 0) AS onsite,
           count(*) FILTER (WHERE k.reached_kinds & 192 = 192) AS offer_hired,
           count(*) FILTER (WHERE k.reached_kinds & 64 <> 0) AS offer
    FROM applications a
    LEFT JOIN application_stage_kinds k ON k.org_id = a.org_id AND k.application_id = a.id
    WHERE a.org_id = :'org'
    GROUP BY a.job_id
)
SELECT d.name AS department,
       sum(p.applications)::bigint AS applications,
       round((sum(p.screen_onsite)::float8 / NULLIF(sum(p.screen), 0)::float8)::numeric, 3)::float8 AS screen_to_onsite,
       round((sum(p.onsite_offer)::float8 / NULLIF(sum(p.onsite), 0)::float8)::numeric, 3)::float8 AS onsite_to_offer,
       round((sum(p.offer_hired)::float8 / NULLIF(sum(p.offer), 0)::float8)::numeric, 3)::float8 AS offer_to_hired
FROM per_job p
LEFT JOIN jobs j ON j.org_id = :'org' AND j.id = p.job_id
LEFT JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id
GROUP BY d.name
ORDER BY applications DESC, d.name COLLATE "C" NULLS LAST;
