-- archive-reasons: archived applications per reason, and the median days from applying to
-- being archived.
SELECT archive_reason AS reason,
       count(*) AS applications,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM archived_at - applied_at)::float8 / 86400.0)::numeric, 1)::float8 AS median_days
FROM applications
WHERE org_id = :'org' AND status = 'archived'
GROUP BY archive_reason
ORDER BY applications DESC, archive_reason COLLATE "C" NULLS LAST;
