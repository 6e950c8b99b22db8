"""Runs SQL in DuckDB for crates/warehouse/tests/warehouse.rs: reads a JSON request on stdin,
{"setup": [SQL, ...], "queries": {NAME: SQL, ...}}, runs the setup statements in order on one
in-memory database, then each query, and prints {NAME: [[value, ...], ...]} as JSON (values
that JSON has no type for, such as timestamps, as text)."""

import json
import sys

import duckdb

request = json.load(sys.stdin)
con = duckdb.connect()
for sql in request.get("setup", []):
    con.execute(sql)
out = {}
for name, sql in request["queries"].items():
    out[name] = [list(row) for row in con.execute(sql).fetchall()]
json.dump(out, sys.stdout, default=str)
