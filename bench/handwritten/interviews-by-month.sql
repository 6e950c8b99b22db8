-- interviews-by-month: interviews per month (org's zone) and status, with the average length
-- in minutes.
SELECT to_char(starts_at AT TIME ZONE :'tz', 'YYYY-MM') AS month,
       status,
       count(*) AS interviews,
       round(avg(extract(epoch FROM ends_at - starts_at)::float8 / 86400.0 * 1440.0)::numeric, 0)::float8 AS avg_minutes
FROM interviews
WHERE org_id = :'org'
GROUP BY 1, 2
ORDER BY to_char(starts_at AT TIME ZONE :'tz', 'YYYY-MM') COLLATE "C" NULLS LAST, status COLLATE "C" NULLS LAST;
