-- hires-by-month: hires per month (in the org's zone) and department.
SELECT to_char(a.hired_at AT TIME ZONE :'tz', 'YYYY-MM') AS month,
       d.name AS department,
       count(*) AS hires
FROM applications a
LEFT JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
LEFT JOIN departments d ON d.org_id = j.org_id AND d.id = j.department_id
WHERE a.org_id = :'org' AND a.status = 'hired'
GROUP BY 1, 2
ORDER BY to_char(a.hired_at AT TIME ZONE :'tz', 'YYYY-MM') COLLATE "C" NULLS LAST, d.name COLLATE "C" NULLS LAST;
