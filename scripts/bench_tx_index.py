"""How a node's per-block SQLite write grows with the chain, by id index layout.

Writes the rows one 2,000-transaction block of the node writes (block JSON,
`txs`, `access_log`, 256 state entries) in one WAL transaction with
synchronous=FULL, after preloading N transactions, and prints the mean time
per block over 40 blocks. Schemes: A the schema-4 layout (`txs.id` primary
key and a signer index), C no id index at all (the floor), D an 8-byte
prefix index written with each block, E schema 5 (store/tx_ids.rs: one of 64
id ranges merged per block, sorted, from memory).

    python3 scripts/bench_tx_index.py A|C|D|E N
"""
import sqlite3, os, sys, time, hashlib, random
scheme, N = sys.argv[1], int(sys.argv[2])
B = 2000; S = 64
path = f"/tmp/govchain-txindex-{scheme}.sqlite"
for s in ("", "-wal", "-shm"):
    try: os.remove(path + s)
    except FileNotFoundError: pass
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
idcol = "id BLOB PRIMARY KEY," if scheme in ("A", "B") else "id BLOB NOT NULL,"
c.executescript(f"""
CREATE TABLE blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, block TEXT NOT NULL);
CREATE TABLE txs ({idcol} height INTEGER NOT NULL, idx INTEGER NOT NULL, leaf_index INTEGER NOT NULL UNIQUE,
  kind TEXT NOT NULL, signer BLOB NOT NULL, leaf_hash BLOB);
CREATE TABLE access_log (idx INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE state_entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, value_hash BLOB, height INTEGER) WITHOUT ROWID;
CREATE INDEX state_leaves ON state_entries (key, value_hash);
CREATE TABLE txid (prefix INTEGER NOT NULL, leaf INTEGER NOT NULL, PRIMARY KEY (prefix, leaf)) WITHOUT ROWID;
""")
if scheme == "A": c.execute("CREATE INDEX txs_signer ON txs(signer)")
signers = [hashlib.sha256(b"s%d" % i).digest() for i in range(256)]
pending = {}  # slice -> list of (prefix, leaf)
def sl(p): return (p >> 58) & 63  # top 6 bits of unsigned prefix
def prefix(h): return int.from_bytes(h[:8], "big", signed=True)
leaf = 0; height = 0; logi = 0
def block(measure):
    global leaf, height, logi
    height += 1
    c.execute("BEGIN")
    c.execute("INSERT INTO blocks VALUES (?,?,?)", (height, hashlib.sha256(b"b%d" % height).digest(), "x" * (B * 420)))
    rows = []; idrows = []
    for i in range(B):
        h = hashlib.sha256(b"t%d" % leaf).digest()
        rows.append((h, height, i, leaf, "access.record", signers[leaf % 256], h))
        idrows.append((prefix(h), leaf))
        leaf += 1
    c.executemany("INSERT INTO txs VALUES (?,?,?,?,?,?,?)", rows)
    if scheme == "D":
        c.executemany("INSERT INTO txid VALUES (?,?)", idrows)
    elif scheme == "E":
        if measure:
            for r in idrows: pending.setdefault(sl(r[0]) if r[0] >= 0 else sl(r[0] + (1 << 64)), []).append(r)
            cur = height % S
            batch = sorted(pending.pop(cur, []))
            c.executemany("INSERT INTO txid VALUES (?,?)", batch)
        else:
            c.executemany("INSERT INTO txid VALUES (?,?)", sorted(idrows))
    c.executemany("INSERT INTO access_log VALUES (?,?)", [(logi + i, b"r" * 200) for i in range(B)])
    logi += B
    c.executemany("INSERT OR REPLACE INTO state_entries VALUES (?,?,?,?)", [("seq/%d" % i, b"v" * 20, b"h" * 32, height) for i in range(256)])
    c.execute("COMMIT")
c.execute("PRAGMA synchronous=OFF")
t = time.time()
while leaf < N: block(False)
pre = time.time() - t
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("PRAGMA synchronous=FULL")
for _ in range(3): block(True)
t = time.time(); K = 40
for _ in range(K): block(True)
print(f"{scheme} N={N}: {1000*(time.time()-t)/K:.1f} ms/block (preload {pre:.0f}s) db {os.path.getsize(path)>>20} MB")
c.close()
for s in ("", "-wal", "-shm"):
    try: os.remove(path + s)
    except FileNotFoundError: pass
