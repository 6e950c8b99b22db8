-- open-jobs-ageing: open jobs per title and department: the earliest opening (UTC microseconds,
-- as the report returns instants), the most days open as of today's local midnight in the org's
-- zone, and their applications in total, still active and hired.
-- By hand: applications of open jobs counted per job id in one parallel pass, then summed per
-- title and department with the jobs (instead of grouping twice by title and department and
-- joining the two groupings with IS NOT DISTINCT FROM, whose estimated cost turns on JIT).
WITH per_job AS (
    SELECT a.job_id,
           count(*) AS applications,
           count(*) FILTER (WHERE a.status = 'active') AS active,
           count(*) FILTER (WHERE a.status = 'hired') AS hired
    FROM applications a
    JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
    WHERE a.org_id = :'org' AND j.status = 'open'
    GROUP BY a.job_id
)
SELECT j.title,
       d.name AS department,
       (extract(epoch FROM min(j.opened_at)) * 1000000)::bigint AS opened_at,
       round(max(extract(epoch FROM date :'today'::timestamp AT TIME ZONE :'tz' - j.opened_at)::float8 / 86400.0)::numeric, 0)::float8 AS days_open,
       coalesce(sum(p.applications), 0)::bigint AS applications,
       coalesce(sum(p.active), 0)::bigint AS active,
       coalesce(sum(p.hired), 0)::bigint AS hired
FROM jobs j
LEFT JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id
LEFT JOIN per_job p ON p.job_id = j.id
WHERE j.org_id = :'org' AND j.status = 'open'
GROUP BY j.title, d.name
ORDER BY min(j.opened_at), j.title COLLATE "C", d.name COLLATE "C" NULLS LAST;
