-- pipeline-by-stage: active applications per current stage kind, in pipeline order (the
-- kinds' own order: lead, application review, screen, ..., hired).
SELECT s.kind AS stage,
       count(*) AS applications,
       count(DISTINCT a.job_id) AS jobs
FROM applications a
LEFT JOIN stages s ON s.org_id = a.org_id AND s.id = a.current_stage_id
WHERE a.org_id = :'org' AND a.status = 'active'
GROUP BY s.kind
ORDER BY array_position(ARRAY['lead', 'application_review', 'screen', 'assessment', 'interview', 'onsite', 'offer', 'hired'], s.kind), s.kind COLLATE "C" NULLS LAST;
