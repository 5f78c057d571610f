#!/usr/bin/env python3
"""Real-window E2E, second scenario: from the demo to a real chain (issue 18).

A department node is started here (govchain-node keygen, init from a genesis.toml, run on a free
loopback port; a one-stage workflow and a case opened by the admin). Then the real app:

1. A fresh workstation (fresh GOVCHAIN_DATA_DIR) chooses "connect to my department's nodes" at
   first run, sees the chain id and genesis hash the node serves, is refused with the wrong genesis
   hash, pins the right one, creates a key and shows the registration request. The script registers
   the official with `govchain-node admin register-official --request FILE` (the text the app
   showed) and grants the approver role; the official signs the case's stage in the app and the
   signature commits on that node. Nothing of the demo was started or cached.
2. A second fresh workstation starts on the demo, then connects to that node from Settings
   (保存并连接): the real chain gets its own cache, its case list has only its case; the chain
   switcher goes back to the demo, whose inbox has only the demo's case, and to the real chain again.

    e2e_connect.py APP_BINARY OUT_DIR WEBDRIVER_URL NODE_BINARY WORK_DIR

Screenshots (zh-CN; one en) go to OUT_DIR. Standard library only (plus `cryptography`, which
Debian's python3 ships, to sign the admin's case.open as the admin's key file allows).
"""
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (APP, OUT, DRIVER from the same argv)
from e2e import Session, set_value, wait_committed  # noqa: E402

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

APP, OUT, NODE_BIN, WORK = sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[5]
CHAIN = "e2e-city"
CASE = "E2E-2026-001"
DEMO_CASE = "HZ-2026-0042"


def sh(*args, **kw):
    r = subprocess.run([NODE_BIN, *args], check=True, capture_output=True, text=True, **kw)
    return r.stdout


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def jcs(v):
    """RFC 8785 for what these payloads hold (strings, integers, arrays, objects)."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_as(key_file, url, kind, payload):
    """Signs and submits a transaction with a key file (32-byte seed, hex), as `govchain-node admin`
    does (PROTOCOL.md: the signed message is `govchain/v1/tx/<chain_id> || 0x00 || JCS(body)`)."""
    seed = bytes.fromhex(open(key_file).read().strip())
    key = Ed25519PrivateKey.from_private_bytes(seed)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(pub).hexdigest()
    signer = get(f"{url}/v1/signers/{key_id}")
    seq = max(signer.get("seq") or 0, signer.get("pending_seq") or 0) + 1
    now = datetime.now(timezone.utc)
    body = {"chain_id": CHAIN, "created_at": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "kind": kind, "payload": payload, "seq": seq, "signer": key_id}
    sig = key.sign(f"govchain/v1/tx/{CHAIN}".encode() + b"\x00" + jcs(body)).hex()
    tx = post(f"{url}/v1/tx", json.dumps({"body": body, "sig": sig}).encode())
    for _ in range(100):
        st = get(f"{url}/v1/tx/{tx['id']}")
        if st.get("status") == "committed":
            return tx["id"]
        assert st.get("status") == "pending", st
        time.sleep(0.1)
    raise AssertionError(f"{kind} not committed")


def start_node():
    os.makedirs(WORK, exist_ok=True)
    pk = {}
    for n in ("node", "admin"):
        out = sh("keygen", "--out", f"{WORK}/{n}.key")
        pk[n] = next(l.split()[-1] for l in out.splitlines() if l.startswith("public key"))
    with open(f"{WORK}/genesis.toml", "w") as f:
        f.write(f'''chain_id = "{CHAIN}"
origin = "govchain.example/{CHAIN}"
consortium_threshold = 1

[[departments]]
id = "city-management"
name = "城市管理局"
node_key = "{pk['node']}"
admin_threshold = 1
admins = [{{ name = "管理员", public_key = "{pk['admin']}" }}]
''')
    proc, url = init_and_run("admin.key", "node.city.example")
    # A one-stage renovation review in the city's department, and a case the admin opens.
    with open(f"{WORK}/workflow.json", "w") as f:
        json.dump({"id": "street-renovation", "version": 1, "name": "街道改造审批",
                   "stages": [{"name": "城市管理审查", "department": "city-management", "role": "approver",
                               "threshold": 1, "deadline_secs": 2592000, "on_reject": "end"}]}, f, ensure_ascii=False)
    admin("--node", url, "define-workflow", "--file", f"{WORK}/workflow.json")
    sign_as(f"{WORK}/admin.key", url, "case.open",
            {"case_id": CASE, "template": "street-renovation", "version": 1, "scope": "hz/shangcheng",
             "title": "上城区背街小巷改造", "documents": []})
    return proc, url, get(f"{url}/healthz")["genesis_hash"]


def init_and_run(admin_key, name):
    """`init` from WORK/genesis.toml (signed by WORK/`admin_key`, sealed by WORK/node.key), then
    `run` on a free loopback port: the process and its URL."""
    sh("init", "--genesis", f"{WORK}/genesis.toml", "--data-dir", f"{WORK}/data",
       "--node-key", f"{WORK}/node.key", "--admin-key", f"{WORK}/{admin_key}")
    out = open(f"{WORK}/node.out", "w")
    proc = subprocess.Popen([NODE_BIN, "run", "--listen", "127.0.0.1:0", "--name", name,
                             "--block-ms", "100", "--data-dir", f"{WORK}/data", "--node-key", f"{WORK}/node.key"],
                            stdout=out, stderr=open(f"{WORK}/node.log", "w"))
    for _ in range(100):
        text = open(f"{WORK}/node.out").read()
        if "listening on " in text:
            break
        time.sleep(0.1)
    return proc, "http://" + text.split("listening on ", 1)[1].split()[0]


def admin(*args):
    node = args[1]
    rest = args[2:]
    return subprocess.run([NODE_BIN, "admin", "--node", node, "--key", f"{WORK}/admin.key", *rest],
                          check=True, capture_output=True, text=True).stdout


def session(data_dir, env=None):
    """The app with its own data directory and `env` (a wrapper: WebDriver passes no environment)."""
    os.makedirs(WORK, exist_ok=True)
    wrapper = os.path.join(WORK, f"app-{os.path.basename(data_dir)}.sh")
    exports = "".join(f'export {k}="{v}"\n' for k, v in (env or {}).items())
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexport GOVCHAIN_DATA_DIR="{data_dir}"\n{exports}exec "{os.path.abspath(APP)}" "$@"\n')
    os.chmod(wrapper, 0o755)
    e2e.APP = wrapper
    s = Session()
    s.find("html[data-ready='1']", timeout=60)
    return s


def texts(s, css):
    return s.script("return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);", css)


def wait_until(s, fn, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out: {what}")


def first_run_connect(url, genesis):
    data = os.path.join(WORK, "ws-connect")
    s = session(data)
    try:
        s.find("[data-testid=first-run-connect]", timeout=60)
        s.screenshot("first-run-choice")
        s.click(s.find("[data-testid=first-run-connect]"))
        set_value(s, "[data-testid=connect-nodes]", url)
        s.find("[data-testid=connect-nodes]")
        s.click(s.find("[data-testid=connect-probe]"))
        s.find("[data-testid=served-chain-id]", visible_text=CHAIN)
        s.find("[data-testid=served-genesis]", visible_text=genesis)
        # The administrator's values: a wrong genesis hash is refused.
        set_value(s, "[data-testid=connect-chain-id]", CHAIN)
        set_value(s, "[data-testid=connect-genesis]", "0" * 64)
        s.find("[data-testid=connect-mismatch]")
        assert s.script("return document.querySelector('[data-testid=connect-submit]').disabled;")
        s.screenshot("first-run-connect-mismatch")
        set_value(s, "[data-testid=connect-genesis]", genesis)
        wait_until(s, lambda: not s.script("return !!document.querySelector('[data-testid=connect-mismatch]');"),
                   "mismatch cleared", 10)
        s.screenshot("first-run-connect")
        s.click(s.find("[data-testid=connect-submit]"))

        # The key, then the registration request for the administrator.
        s.type(s.find("[data-testid=first-run-name]", timeout=60), "赵敏")
        s.click(s.find("[data-testid=first-run-submit]"))
        s.find("[data-testid=register-department]", timeout=30)
        set_value(s, "[data-testid=register-department]", "city-management")
        s.click(s.find("[data-testid=register-make]"))
        request = json.loads(s.text(s.find("[data-testid=registration-text]")))
        assert request["kind"] == "official.register" and request["payload"]["name"] == "赵敏", request
        s.screenshot("first-run-registration")
        with open(f"{WORK}/request.json", "w") as f:
            json.dump(request, f, ensure_ascii=False)
        print("e2e-connect:", admin("--node", url, "register-official", "--request", f"{WORK}/request.json").strip())
        admin("--node", url, "grant-role", "--request", f"{WORK}/request.json", "--department", "city-management",
              "--role", "approver", "--scope", "hz")
        s.click(s.find("[data-testid=first-run-done]"))

        # Nothing of the demo: no embedded node, one chain cache, the real one.
        assert not os.path.exists(os.path.join(data, "embedded-node")), "the demo node was started"
        chains = sorted(os.listdir(os.path.join(data, "chains")))
        assert chains == [f"{CHAIN}-{genesis[:16]}"], chains

        # The case the admin opened waits for the official's stage; they sign it.
        row = s.find("[data-testid=inbox-row]", timeout=90, visible_text=CASE)
        assert not any(DEMO_CASE in t for t in texts(s, "[data-testid=inbox-row]"))
        s.screenshot("inbox-real-chain")
        s.click(s.script("return arguments[0].querySelector('a');", row))
        s.find("[data-testid=stage-0][data-state=current]")
        s.type(s.find("[data-testid=sign-comment]"), "施工方案与占道时段符合要求，同意。")
        s.click(s.find("[data-testid=approve]"))
        canonical = s.text(s.find("[data-testid=sign-canonical]"))
        body = json.loads(canonical)
        assert body["chain_id"] == CHAIN and body["kind"] == "case.sign_step", body
        s.click(s.find("[data-testid=sign-confirm]"))
        print("e2e-connect: case step", wait_committed(s))
        s.find("[data-testid=stage-0][data-state=done]", timeout=60)
        # Committed on that node.
        tx_id = hashlib.sha256(f"govchain/v1/tx/{CHAIN}".encode() + b"\x00" + canonical.encode()).hexdigest()
        assert get(f"{url}/v1/tx/{tx_id}")["status"] == "committed"
        s.screenshot("case-committed-real-chain")
    except Exception:
        s.screenshot("connect-failed")
        print("e2e-connect: failed at", s.script("return location.href;"))
        print(s.script("return document.querySelector('main').innerText.slice(0, 800);"))
        raise
    finally:
        s.close()


def demo_then_switch(url, genesis):
    data = os.path.join(WORK, "ws-switch")
    real_id = f"{CHAIN}-{genesis[:16]}"
    s = session(data)
    try:
        s.click(s.find("[data-testid=first-run-demo]", timeout=60))
        s.type(s.find("[data-testid=first-run-name]", timeout=60), "李明")
        s.click(s.find("[data-testid=first-run-submit]"))
        s.find("[data-testid=inbox-row]", timeout=90, visible_text=DEMO_CASE)

        # From Settings: the department's node (保存并连接) — its own cache, its own cases.
        s.go("/settings")
        s.find("[data-testid=chain-switcher]")
        s.find("[data-testid=nodes-input]")
        set_value(s, "[data-testid=nodes-input]", url)
        s.click(s.find("button", visible_text="保存并连接"))
        s.find(f"[data-testid=chain-{real_id}]", timeout=30)
        s.go("/cases")
        s.find("a, td", timeout=60, visible_text=CASE)
        assert not any(DEMO_CASE in t for t in texts(s, "main")), "the demo's case on the real chain"
        s.go("/settings")
        s.find(f"[data-testid=switch-demo]", timeout=30)
        s.screenshot("chain-switch")
        s.click(s.find("label[lang=en]"))
        s.find("h2", visible_text="Chains")
        s.screenshot("chain-switch-en")
        s.click(s.find("label[lang=zh-CN]"))

        # Back to the demo: only the demo's case.
        s.click(s.find("[data-testid=switch-demo]"))
        s.find(f"[data-testid=switch-{real_id}]", timeout=30)
        s.go("/inbox")
        s.find("[data-testid=inbox-row]", timeout=60, visible_text=DEMO_CASE)
        assert not any(CASE in t for t in texts(s, "[data-testid=inbox-row]"))
        s.go("/cases")
        s.find("a, td", timeout=30, visible_text=DEMO_CASE)
        assert not any(CASE in t for t in texts(s, "main")), "the real chain's case on the demo"
        s.screenshot("demo-after-switch")

        # And to the real chain again: its case, not the demo's.
        s.go("/settings")
        s.click(s.find(f"[data-testid=switch-{real_id}]"))
        s.find("[data-testid=switch-demo]", timeout=30)
        s.go("/cases")
        s.find("a, td", timeout=60, visible_text=CASE)
        assert not any(DEMO_CASE in t for t in texts(s, "main"))
        assert sorted(os.listdir(os.path.join(data, "chains"))) == sorted(["demo", real_id])
    except Exception:
        s.screenshot("switch-failed")
        print("e2e-connect: failed at", s.script("return location.href;"))
        print(s.script("return document.querySelector('main').innerText.slice(0, 800);"))
        raise
    finally:
        s.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    proc, url, genesis = start_node()
    print(f"e2e-connect: node {url}, chain {CHAIN}, genesis {genesis}")
    try:
        first_run_connect(url, genesis)
        demo_then_switch(url, genesis)
        print("e2e-connect: passed")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
