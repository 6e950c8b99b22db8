-- pgbench script for bench/api.sh: the statement the server runs for one page of
-- bench/api-page.lua as an admin (what `hireplane explain --as <admin> ...` prints for
-- `report applications where id > "..." show id, status, applied_at, candidate.id,
-- candidate.name, job.id, job.title, current_stage.id, current_stage.name, current_stage.kind
-- order by id limit 51`), after a random cursor: the database's own ceiling for pages.
\set n random(1, 1000000)
SELECT "s"."id" AS "c0", "s"."status" AS "c1", CAST(EXTRACT(EPOCH FROM "s"."applied_at") * 1000000 AS bigint) AS "c2", "t1"."id" AS "c3", "t1"."name" AS "c4", "t2"."id" AS "c5", "t2"."title" AS "c6", "t3"."id" AS "c7", "t3"."name" AS "c8", "t3"."kind" AS "c9" FROM "applications" AS "s" JOIN "candidates" AS "t1" ON ("t1"."org_id" = "s"."org_id") AND ("t1"."id" = "s"."candidate_id") JOIN "jobs" AS "t2" ON ("t2"."org_id" = "s"."org_id") AND ("t2"."id" = "s"."job_id") JOIN "stages" AS "t3" ON ("t3"."org_id" = "s"."org_id") AND ("t3"."id" = "s"."current_stage_id") WHERE ("s"."org_id" = :org) AND ("s"."id" > ('bench_app_' || :n)) ORDER BY "s"."id" COLLATE "C" ASC NULLS LAST LIMIT 51;
