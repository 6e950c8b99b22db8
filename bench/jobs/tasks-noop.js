// graphile-worker's no-op task for bench/jobs.sh.
module.exports = async () => {};
