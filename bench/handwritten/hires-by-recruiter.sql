-- hires-by-recruiter: hires credited to each user over the last four quarters (from the day
-- after today a year ago, local midnight in the org's zone, to the end of today).
SELECT u.name AS credited_to,
       count(*) AS hires,
       count(DISTINCT a.job_id) AS jobs
FROM applications a
LEFT JOIN users u ON u.org_id = a.org_id AND u.id = a.credited_to_user_id
WHERE a.org_id = :'org' AND a.status = 'hired'
  AND a.hired_at >= ((date :'today' - interval '12 months')::date + 1)::timestamp AT TIME ZONE :'tz'
  AND a.hired_at < (date :'today' + 1)::timestamp AT TIME ZONE :'tz'
GROUP BY u.name
ORDER BY hires DESC, u.name COLLATE "C" NULLS LAST;
