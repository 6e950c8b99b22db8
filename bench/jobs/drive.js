// The driver of bench/jobs.sh: alternates rounds of hireplane's queue and graphile-worker's on
// one PostgreSQL database, both pools already running with 2 workers and idle. A round puts N
// no-op jobs in one statement (each system's own enqueue function or insert, with its NOTIFY)
// and times it until every job is complete (hireplane: `done` in `job_queue`; graphile-worker:
// deleted from its jobs table). Prints each round and the medians as jobs per second.
// Usage: node drive.js DATABASE_URL N ROUNDS   (pg is graphile-worker's own dependency)
const { Client } = require("pg");

const [url, nText, roundsText] = process.argv.slice(2);
const n = Number(nText);
const rounds = Number(roundsText);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(c, sql, want, limitMs) {
  const started = Date.now();
  for (;;) {
    const { rows } = await c.query(sql);
    if (Number(rows[0].n) === want) return;
    if (Date.now() - started > limitMs) throw new Error(`timed out: ${sql}`);
    await sleep(20);
  }
}

const systems = {
  async hireplane(c) {
    await c.query("DELETE FROM job_queue");
    const t0 = process.hrtime.bigint();
    // As Store::enqueue_job writes a job, N at once, and its NOTIFY.
    await c.query(
      `BEGIN;
       INSERT INTO job_queue (org_id, kind, payload, priority, max_attempts, unique_key, enqueued_at, run_at)
         SELECT 'bench', 'bench.noop', '{}'::jsonb, 0, 20, NULL, now(), now() FROM generate_series(1, ${n});
       SELECT pg_notify('hireplane_jobs', '');
       COMMIT;`,
    );
    await until(c, "SELECT count(*) AS n FROM job_queue WHERE state = 'done'", n, 600000);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  },
  async graphile(c) {
    const t0 = process.hrtime.bigint();
    await c.query(
      `SELECT graphile_worker.add_jobs(array(SELECT ('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec FROM generate_series(1, ${n})))`,
    );
    await until(c, "SELECT count(*) AS n FROM graphile_worker.jobs", 0, 600000);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const c = new Client({ connectionString: url });
  await c.connect();
  const rates = { hireplane: [], graphile: [] };
  for (let r = 1; r <= rounds; r++) {
    // Alternate which goes first.
    const order = r % 2 ? ["hireplane", "graphile"] : ["graphile", "hireplane"];
    for (const name of order) {
      const secs = await systems[name](c);
      rates[name].push(n / secs);
      console.log(`round ${r} ${name}: ${n} jobs in ${secs.toFixed(2)} s, ${(n / secs).toFixed(0)} jobs/s`);
    }
  }
  const h = median(rates.hireplane);
  const g = median(rates.graphile);
  console.log(`median of ${rounds}: hireplane ${h.toFixed(0)} jobs/s, graphile-worker ${g.toFixed(0)} jobs/s, ratio ${(h / g).toFixed(2)}`);
  await c.end();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
