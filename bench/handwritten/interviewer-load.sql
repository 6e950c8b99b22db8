-- interviewer-load: seats per interviewer and ISO week (org's zone) over the last 8 weeks,
-- cancelled interviews left out; training seats are the non-`interviewer` roles.
SELECT u.name AS interviewer,
       to_char(i.starts_at AT TIME ZONE :'tz', 'IYYY-"W"IW') AS week,
       count(*) AS interviews,
       count(*) FILTER (WHERE p.role <> 'interviewer') AS training_seats
FROM interviews i
JOIN interview_participants p ON p.org_id = i.org_id AND p.interview_id = i.id
LEFT JOIN users u ON u.org_id = p.org_id AND u.id = p.user_id
WHERE i.org_id = :'org' AND i.status <> 'cancelled'
  AND i.starts_at >= (date :'today' + 1 - 56)::timestamp AT TIME ZONE :'tz'
  AND i.starts_at < (date :'today' + 1)::timestamp AT TIME ZONE :'tz'
GROUP BY 1, 2
ORDER BY to_char(i.starts_at AT TIME ZONE :'tz', 'IYYY-"W"IW') COLLATE "C" DESC, interviews DESC, u.name COLLATE "C" NULLS LAST;
