-- jobs-activity: per open job title and department: headcount, applications (and active ones),
-- interviews, scorecards with their average score (strong_no 1 .. strong_yes 4) and current
-- offers (the highest version per application: one per application that has offers), each
-- counted at its own grain.
-- By hand: every grain is counted per job id in its own parallel pass, then the per-job counts
-- are summed per title and department (instead of joining jobs, departments and the grain's
-- path once per measure, grouping by title and department five times and joining the five
-- groupings on their dimensions). Interviews reach their job through their stage
-- (interviews.stage_id), scorecards through their interview's stage: the import refuses an
-- interview whose stage is not a stage of its application's job, so this is the same job as
-- through the application (and it refuses a scorecard whose application is not its interview's),
-- with a 27k-row hash instead of a 1M-row one.
WITH oj AS (
    SELECT j.id, j.title, d.name AS department, j.headcount
    FROM jobs j
    LEFT JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id
    WHERE j.org_id = :'org' AND j.status = 'open'
),
a_job AS (
    SELECT job_id, count(*) AS applications, count(*) FILTER (WHERE status = 'active') AS active
    FROM applications
    WHERE org_id = :'org'
    GROUP BY job_id
),
i_job AS (
    SELECT s.job_id, count(*) AS interviews
    FROM interviews i
    JOIN stages s ON s.org_id = i.org_id AND s.id = i.stage_id
    WHERE i.org_id = :'org'
    GROUP BY s.job_id
),
f_job AS (
    SELECT s.job_id, count(*) AS scorecards,
           sum(CASE f.recommendation WHEN 'strong_no' THEN 1 WHEN 'no' THEN 2 WHEN 'yes' THEN 3 WHEN 'strong_yes' THEN 4 END) AS score_sum,
           count(CASE WHEN f.recommendation IN ('strong_no', 'no', 'yes', 'strong_yes') THEN 1 END) AS scored
    FROM feedback f
    JOIN interviews i ON i.org_id = f.org_id AND i.id = f.interview_id
    JOIN stages s ON s.org_id = i.org_id AND s.id = i.stage_id
    WHERE f.org_id = :'org'
    GROUP BY s.job_id
),
o_job AS (
    SELECT a.job_id, count(DISTINCT o.application_id) AS offers
    FROM offers o
    JOIN applications a ON a.org_id = o.org_id AND a.id = o.application_id
    WHERE o.org_id = :'org'
    GROUP BY a.job_id
)
SELECT oj.title,
       oj.department,
       sum(oj.headcount)::bigint AS headcount,
       coalesce(sum(a.applications), 0)::bigint AS applications,
       coalesce(sum(a.active), 0)::bigint AS active,
       coalesce(sum(i.interviews), 0)::bigint AS interviews,
       coalesce(sum(f.scorecards), 0)::bigint AS scorecards,
       round(sum(f.score_sum)::numeric / NULLIF(sum(f.scored), 0), 2)::float8 AS avg_score,
       coalesce(sum(o.offers), 0)::bigint AS offers
FROM oj
LEFT JOIN a_job a ON a.job_id = oj.id
LEFT JOIN i_job i ON i.job_id = oj.id
LEFT JOIN f_job f ON f.job_id = oj.id
LEFT JOIN o_job o ON o.job_id = oj.id
GROUP BY oj.title, oj.department
ORDER BY applications DESC, oj.title COLLATE "C", oj.department COLLATE "C" NULLS LAST;
