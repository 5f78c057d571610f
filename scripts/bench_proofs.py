#!/usr/bin/env python3
"""Times a running node's proof endpoints, and with --officials its
inbox endpoint (BENCHMARKS.md).

    python3 scripts/bench_proofs.py --db DIR/chain.sqlite --url http://127.0.0.1:17777 [--n 200]
        [--officials DIR/officials.csv] [--projects]

Picks `n` transactions spread over the whole log from the node's database
(read-only) and asks for each one's inclusion proof at the current size,
then `n` consistency proofs from random earlier sizes, over one kept-alive
connection, one request at a time; with --officials (a `demo-data`
officials.csv), the inbox of `n` of its officials; with --projects (a
chain with engineering-fund projects), `n` random projects and their fund
traces. Prints p50/p99/max per endpoint in ms.
"""

import argparse
import http.client
import random
import sqlite3
import time
import urllib.parse


def timed(conn, path):
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t) * 1000
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
    return ms, body


def summary(name, ms):
    ms = sorted(ms)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    print(f"{name:<22} n={len(ms)}  p50 {p(0.50):.2f} ms  p99 {p(0.99):.2f} ms  max {ms[-1]:.2f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--officials")
    ap.add_argument("--projects", action="store_true")
    a = ap.parse_args()
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    size = db.execute("SELECT COUNT(*) FROM txs").fetchone()[0]
    rng = random.Random(7)
    leaves = sorted(rng.randrange(size) for _ in range(a.n))
    ids = [
        db.execute("SELECT lower(hex(id)) FROM txs WHERE leaf_index = ?", (i,)).fetchone()[0]
        for i in leaves
    ]
    u = urllib.parse.urlparse(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    _, note = timed(conn, "/v1/checkpoint")
    print(f"log size {size}; the node's checkpoint is at size {note.decode().splitlines()[1]}")
    incl = [timed(conn, f"/v1/proof/inclusion/{i}")[0] for i in ids]
    cons = []
    for _ in range(a.n):
        s1 = rng.randrange(1, size)
        cons.append(timed(conn, f"/v1/proof/consistency?size1={s1}&size2={size}")[0])
    summary("inclusion proof", incl)
    summary("consistency proof", cons)
    if a.officials:
        with open(a.officials) as f:
            people = [line.split(",")[2] for line in f.read().splitlines()[1:]]
        picked = [people[rng.randrange(len(people))] for _ in range(a.n)]
        sizes, times = [], []
        for o in picked:
            ms, body = timed(conn, f"/v1/inbox/{o}")
            times.append(ms)
            sizes.append(body.count(b'"case_id"'))
        summary("inbox", times)
        print(f"{'':<22} items per inbox: median {sorted(sizes)[len(sizes) // 2]}, max {max(sizes)}")
    if a.projects:
        projects = [
            r[0][len("project/"):]
            for r in db.execute("SELECT key FROM state_entries WHERE key LIKE 'project/%'")
        ]
        picked = [projects[rng.randrange(len(projects))] for _ in range(a.n)]
        for name, suffix in [("project", ""), ("project trace", "/trace")]:
            times, sizes = [], []
            for p in picked:
                ms, body = timed(conn, f"/v1/projects/{urllib.parse.quote(p)}{suffix}")
                times.append(ms)
                sizes.append(len(body))
            summary(name, times)
            print(f"{'':<22} bytes: median {sorted(sizes)[len(sizes) // 2]}, max {max(sizes)}")


if __name__ == "__main__":
    main()
