-- time-to-hire: days from applying to being hired per department: count, median, mean, p90.
WITH h AS (
    SELECT d.name AS department,
           extract(epoch FROM a.hired_at - a.applied_at)::float8 / 86400.0 AS days
    FROM applications a
    LEFT JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
    LEFT JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id
    WHERE a.org_id = :'org' AND a.status = 'hired'
)
SELECT department,
       count(*) AS hires,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY days)::numeric, 1)::float8 AS median_days,
       round(avg(days)::numeric, 1)::float8 AS avg_days,
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY days)::numeric, 1)::float8 AS p90_days
FROM h AS h
GROUP BY department
ORDER BY hires DESC, h.department COLLATE "C" NULLS LAST;
