-- feedback-distribution: scorecards per author, by recommendation, and the average score
-- (strong_no 1, no 2, yes 3, strong_yes 4). Aggregates per author id first (the key the
-- scorecards carry), then joins users once per author and merges authors of the same name.
WITH per_author AS (
    SELECT author_id,
           count(*) AS n,
           count(*) FILTER (WHERE recommendation = 'strong_yes') AS strong_yes,
           count(*) FILTER (WHERE recommendation = 'yes') AS yes,
           count(*) FILTER (WHERE recommendation = 'no') AS no,
           count(*) FILTER (WHERE recommendation = 'strong_no') AS strong_no,
           sum(CASE recommendation WHEN 'strong_no' THEN 1 WHEN 'no' THEN 2 WHEN 'yes' THEN 3 WHEN 'strong_yes' THEN 4 END) AS score_sum
    FROM feedback
    WHERE org_id = :'org'
    GROUP BY author_id
)
SELECT u.name AS interviewer,
       sum(p.n)::bigint AS scorecards,
       sum(p.strong_yes)::bigint AS strong_yes,
       sum(p.yes)::bigint AS yes,
       sum(p.no)::bigint AS no,
       sum(p.strong_no)::bigint AS strong_no,
       round(sum(p.score_sum)::numeric / sum(p.n), 2)::float8 AS avg_score
FROM per_author p
LEFT JOIN users u ON u.org_id = :'org' AND u.id = p.author_id
GROUP BY u.name
ORDER BY scorecards DESC, u.name COLLATE "C" NULLS LAST;
