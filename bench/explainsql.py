"""Shared by the report benchmarks: the SQL and parameters of `hireplane explain`'s output."""
import json
import re
import sys


def sections(text):
    """The `== SQL` text and the parameters ($1, $2, ...) of `hireplane explain`."""
    sql = re.search(r"^== SQL \(postgres\)\n(.*?)\n\n== parameters\n", text, re.S | re.M)
    params = re.search(r"^== parameters\n(.*?)\n\n", text, re.S | re.M)
    if not sql or not params:
        sys.exit("cannot find the SQL and parameters in hireplane explain's output")
    values = []
    for line in params.group(1).splitlines():
        m = re.match(r"^\$(\d+) = (.*?)( \(the org\))?$", line)
        if not m or int(m.group(1)) != len(values) + 1:
            sys.exit(f"unexpected parameter line: {line}")
        values.append(json.loads(m.group(2)))
    return sql.group(1), values


def literal(v):
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def timings(stdout):
    """psql `\\timing` lines after `\\echo MARK name` lines: {name: [ms, ...]}."""
    times = {}
    which = None
    for line in stdout.splitlines():
        if line.startswith("MARK "):
            which = line.split()[1]
        m = re.match(r"^Time: ([0-9.]+) ms", line)
        if m and which:
            times.setdefault(which, []).append(float(m.group(1)))
            which = None
    return times
