-- offer-acceptance: of the current offers (highest version per application) that are accepted or
-- declined, per department: how many, how many accepted, and the share accepted.
WITH cur AS (
    SELECT DISTINCT ON (application_id) application_id, status
    FROM offers
    WHERE org_id = :'org'
    ORDER BY application_id, version DESC
)
SELECT d.name AS department,
       count(*) AS decided,
       count(*) FILTER (WHERE cur.status = 'accepted') AS accepted,
       round(((count(*) FILTER (WHERE cur.status = 'accepted'))::float8 / count(*)::float8)::numeric, 4)::float8 AS acceptance_rate
FROM cur
JOIN applications a ON a.org_id = :'org' AND a.id = cur.application_id
LEFT JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
LEFT JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id
WHERE cur.status IN ('accepted', 'declined')
GROUP BY d.name
ORDER BY decided DESC, d.name COLLATE "C" NULLS LAST;
