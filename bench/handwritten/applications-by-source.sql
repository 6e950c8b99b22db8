-- applications-by-source: per kind of source, applications, hires and the hire rate.
-- Same shape as the generated SQL: one pass over the org's applications, sources joined by key.
SELECT so.kind AS source,
       count(*) AS applications,
       count(*) FILTER (WHERE a.status = 'hired') AS hires,
       round(((count(*) FILTER (WHERE a.status = 'hired'))::float8 / count(*)::float8)::numeric, 4)::float8 AS hire_rate
FROM applications a
LEFT JOIN sources so ON so.org_id = a.org_id AND so.id = a.source_id
WHERE a.org_id = :'org'
GROUP BY so.kind
ORDER BY applications DESC, so.kind COLLATE "C" NULLS LAST;
