-- level-breakdown: per job level (custom field `level` of jobs): applications, hire rate and the
-- average of the candidates' `years_of_experience` (custom field of candidates).
SELECT j.custom_fields ->> 'level' AS level,
       count(*) AS applications,
       round(((count(*) FILTER (WHERE a.status = 'hired'))::float8 / count(*)::float8)::numeric, 4)::float8 AS hire_rate,
       round(avg((c.custom_fields ->> 'years_of_experience')::float8)::numeric, 1)::float8 AS avg_years_experience
FROM applications a
LEFT JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
LEFT JOIN candidates c ON c.org_id = a.org_id AND c.id = a.candidate_id
WHERE a.org_id = :'org'
GROUP BY j.custom_fields ->> 'level'
ORDER BY (j.custom_fields ->> 'level') COLLATE "C" NULLS LAST;
