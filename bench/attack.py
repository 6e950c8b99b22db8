#!/usr/bin/env python3
"""Org B's ordinary latency while org A attacks the server (bench/attack.sh runs it).

    attack.py BASE TOKEN_A TOKEN_B SECONDS

Two phases of SECONDS each: a baseline (org B alone) and the attack (org A's nesting bombs,
2,000-alias reports, heavy reports at the cost limit in parallel, floods of failed
authentication, all at once, while org B goes on). Org B's client runs in a process of its own
(not behind the attackers' threads for Python's interpreter lock) and sends one ordinary request
after the other (a page of applications with candidate and job; its viewer) from its own address
(127.0.0.2: the per-address limits are for org A's address, 127.0.0.1) and the script prints
B's latency percentiles in each phase, B's errors, and what A's attacks got back.
"""

import http.client
import json
import multiprocessing
import sys
import threading
import time
from urllib.parse import urlparse

BASE, TOKEN_A, TOKEN_B, SECONDS = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
URL = urlparse(BASE)

ORDINARY = [
    "{ applications(first: 20) { nodes { id status candidate { name } job { title } } } }",
    "{ viewer { org role } jobs(first: 10) { nodes { id title } } }",
]


def connect(source):
    return http.client.HTTPConnection(
        URL.hostname, URL.port, timeout=120, source_address=(source, 0)
    )


def post(conn, token, body):
    conn.request(
        "POST",
        "/graphql",
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def ordinary(stop, out):
    """Org B: one request after the other; latencies in ms and the failures."""
    conn = connect("127.0.0.2")
    i = 0
    while not stop.is_set():
        body = json.dumps({"query": ORDINARY[i % len(ORDINARY)]})
        i += 1
        t = time.perf_counter()
        try:
            status, data = post(conn, TOKEN_B, body)
            ok = status == 200 and b'"errors"' not in data
        except Exception as e:  # noqa: BLE001 - a failure is what we count
            ok, data = False, str(e).encode()
            conn.close()
            conn = connect("127.0.0.2")
        out["ms"].append((time.perf_counter() - t) * 1000)
        if not ok:
            out["errors"].append(data[:200])


def attacker(name, make_body, token, stop, tally):
    conn = connect("127.0.0.1")
    while not stop.is_set():
        try:
            status, data = post(conn, token(), make_body())
            try:
                code = json.loads(data)["errors"][0]["extensions"]["code"]
            except Exception:  # noqa: BLE001
                code = "ok" if status == 200 else "-"
            key = f"{name}: {status} {code}"
        except Exception as e:  # noqa: BLE001
            key = f"{name}: {type(e).__name__}"
            conn.close()
            time.sleep(0.05)
            conn = connect("127.0.0.1")
        with tally["lock"]:
            tally[key] = tally.get(key, 0) + 1


def ordinary_process(results):
    """Org B's client in a process of its own: in the attackers' process it would wait for
    Python's interpreter lock behind their threads, and its latency would be the client's."""
    stop = threading.Event()
    out = {"ms": [], "errors": []}
    timer = threading.Timer(SECONDS, stop.set)
    timer.start()
    ordinary(stop, out)
    results.put(out)


def attackers_process(attacks, results):
    stop = threading.Event()
    tally = {"lock": threading.Lock()}
    threads = []
    for name, make_body, token, n in attacks:
        for _ in range(n):
            threads.append(
                threading.Thread(target=attacker, args=(name, make_body, token, stop, tally))
            )
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join()
    del tally["lock"]
    results.put(tally)


def run_phase(attacks):
    """Org B's client and org A's attackers, each in its own process, for SECONDS."""
    b_results, a_results = multiprocessing.Queue(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=ordinary_process, args=(b_results,))]
    if attacks:
        procs.append(multiprocessing.Process(target=attackers_process, args=(attacks, a_results)))
    for p in procs:
        p.start()
    out = b_results.get()
    tally = a_results.get() if attacks else {}
    for p in procs:
        p.join()
    return out, tally


def nesting_bomb():
    deep = 100_000
    return json.dumps({"query": "{ viewer(x: " + "[" * deep + "1" + "]" * deep + ") { org } }"})


def aliases():
    fields = " ".join(f'r{i}: report(name: "funnel") {{ rows }}' for i in range(2000))
    return json.dumps({"query": "{ " + fields + " }"})


def heavy():
    # As many standard reports as the cost limit lets one request hold.
    fields = " ".join(f'r{i}: report(name: "funnel") {{ rows }}' for i in range(40))
    return json.dumps({"query": "{ " + fields + " }"})


counter = [0]


def bad_token():
    counter[0] += 1
    return f"hpt_nosuch{counter[0]}_secret"


def main():
    # Fork: the phases' processes inherit the attack table (its lambdas do not pickle).
    multiprocessing.set_start_method("fork")
    baseline, _ = run_phase([])
    attacks = [
        ("nesting bomb", nesting_bomb, lambda: TOKEN_A, 2),
        ("2000 aliased reports", aliases, lambda: TOKEN_A, 2),
        ("heavy reports", heavy, lambda: TOKEN_A, 6),
        ("failed auth", lambda: json.dumps({"query": "{ viewer { org } }"}), bad_token, 4),
    ]
    attacked, tally = run_phase(attacks)
    for name, phase in [("baseline", baseline), ("under attack", attacked)]:
        ms = phase["ms"]
        print(
            f"org B {name}: {len(ms)} requests, p50 {percentile(ms, 50):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms, errors {len(phase['errors'])}"
        )
        for e in phase["errors"][:3]:
            print(f"  error: {e!r}")
    b50, b99 = percentile(baseline["ms"], 50), percentile(baseline["ms"], 99)
    a50, a99 = percentile(attacked["ms"], 50), percentile(attacked["ms"], 99)
    print(f"ratio under attack / baseline: p50 {a50 / b50:.2f}x, p99 {a99 / b99:.2f}x")
    print("org A's attacks got:")
    for key in sorted(tally):
        print(f"  {key}: {tally[key]}")
    sys.exit(0 if a99 < 200 and not attacked["errors"] else 1)


if __name__ == "__main__":
    main()
