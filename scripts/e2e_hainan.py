#!/usr/bin/env python3
"""Real-window E2E, third scenario: Hainan's deposit certificates across two centres (issue 21).

A node is started for a consortium of two housing-fund centres (Haikou, Sanya). A citizen creates
their key with the citizen signer (`govchain-citizen init`, in the same real keyring). Then the app:

1. Haikou's workstation (fresh data directory) connects, is registered as a certificate issuer,
   imports the consortium identity key, and issues a deposit certificate of a statement file to
   the citizen's key; the citizen's certificate PDF is saved and read back (OCR).
2. Sanya's workstation (another fresh data directory) connects and is registered; it asks the
   citizen for consent with the certificate's QR code text. The citizen signs the request with
   `govchain-citizen sign` (the file the app showed); Sanya submits the answer, verifies the
   statement the citizen presents (the document matches the commitment), asks for revocation,
   which the citizen signs too, and is then refused: no consent, no verification.
3. The two centres' admins (each of these officials is one) add a third centre to the consortium,
   a consortium action needing admins of two departments: Haikou proposes it in its
   Administration screen, Sanya co-signs it in its own (two app instances, two keys).

    e2e_hainan.py APP_BINARY OUT_DIR WEBDRIVER_URL NODE_BINARY WORK_DIR

Screenshots (zh-CN; one en) go to OUT_DIR.
"""
import json
import os
import secrets
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check_pdf, confirm_and_wait, navigate, pick_files, press, set_value, wait_committed  # noqa: E402
from e2e_connect import get, init_and_run, session, sh, texts, wait_until  # noqa: E402

APP, OUT, NODE_BIN, WORK = sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[5]
CITIZEN_BIN = os.path.join(os.path.dirname(os.path.abspath(APP)), "govchain-citizen")
CHAIN = "e2e-hainan"
CENTRES = {"hpf-haikou": "海口市住房公积金管理局", "hpf-sanya": "三亚市住房公积金管理局"}
IDENTITY_KEY = secrets.token_hex(32)
RESIDENT_ID = "460100198001010014"
CITIZEN_ENV = dict(os.environ, GOVCHAIN_CITIZEN_KEYCHAIN_SERVICE=f"govchain-e2e-citizen-{os.getpid()}")


def citizen(*args):
    r = subprocess.run([CITIZEN_BIN, "--lang", "zh", *args], env=CITIZEN_ENV, capture_output=True, text=True)
    assert r.returncode == 0, f"govchain-citizen {args}: {r.stderr}"
    return r.stdout, r.stderr


def start_node():
    os.makedirs(WORK, exist_ok=True)
    pk = {}
    for n in ("node", "node-sy", "node-qh", "admin-hpf-haikou", "admin-hpf-sanya", "admin-hpf-qionghai"):
        out = sh("keygen", "--out", f"{WORK}/{n}.key")
        pk[n] = next(l.split()[-1] for l in out.splitlines() if l.startswith("public key"))
    with open(f"{WORK}/genesis.toml", "w") as f:
        f.write(f'chain_id = "{CHAIN}"\norigin = "govchain.example/{CHAIN}"\nconsortium_threshold = 2\n')
        # The third member has no workstation here: the consortium action is 2 of 3.
        members = [*zip(CENTRES.items(), ("node", "node-sy")), (("hpf-qionghai", "琼海市住房公积金管理局"), "node-qh")]
        for (dept, name), node in members:
            f.write(f'''
[[departments]]
id = "{dept}"
name = "{name}"
node_key = "{pk[node]}"
admin_threshold = 1
admins = [{{ name = "管理员", public_key = "{pk['admin-' + dept]}" }}]
''')
    proc, url = init_and_run("admin-hpf-haikou.key", "node.haikou.example")
    return proc, url, get(f"{url}/healthz")["genesis_hash"]


def admin(dept, url, *args):
    return subprocess.run([NODE_BIN, "admin", "--node", url, "--key", f"{WORK}/admin-{dept}.key", *args],
                          check=True, capture_output=True, text=True).stdout


def enrol(url, genesis, dept, name, roles, elsewhere=()):
    """A fresh workstation connects, is registered in `dept` with `roles` (and with each
    `(department, role)` of `elsewhere`, granted by that department's admin), and imports the
    consortium identity key."""
    # Each centre has its own keychain (service), as two computers would.
    s = session(os.path.join(WORK, f"ws-{dept}"),
                {"GOVCHAIN_KEYCHAIN_SERVICE": f"govchain-e2e-{dept}-{os.getpid()}"})
    s.click(s.find("[data-testid=first-run-connect]", timeout=60))
    set_value(s, "[data-testid=connect-nodes]", url)
    s.click(s.find("[data-testid=connect-probe]"))
    s.find("[data-testid=served-chain-id]", visible_text=CHAIN)
    set_value(s, "[data-testid=connect-chain-id]", CHAIN)
    set_value(s, "[data-testid=connect-genesis]", genesis)
    wait_until(s, lambda: not s.script("return document.querySelector('[data-testid=connect-submit]').disabled;"),
               "connect enabled", 10)
    s.click(s.find("[data-testid=connect-submit]"))
    s.type(s.find("[data-testid=first-run-name]", timeout=60), name)
    s.click(s.find("[data-testid=first-run-submit]"))
    s.find("[data-testid=register-department]", timeout=30)
    set_value(s, "[data-testid=register-department]", dept)
    s.click(s.find("[data-testid=register-make]"))
    request = f"{WORK}/request-{dept}.json"
    with open(request, "w") as f:
        f.write(s.text(s.find("[data-testid=registration-text]")))
    admin(dept, url, "register-official", "--request", request)
    for role in roles:
        admin(dept, url, "grant-role", "--request", request, "--department", dept, "--role", role, "--scope", "*")
    for other, role in elsewhere:
        admin(other, url, "grant-role", "--request", request, "--department", other, "--role", role, "--scope", "*")
    s.click(s.find("[data-testid=first-run-done]"))
    s.go("/settings")
    s.find("#identity-key", timeout=30)
    set_value(s, "#identity-key", IDENTITY_KEY)
    s.click(s.find("[data-testid=identity-key] button"))
    s.find("[data-testid=identity-key] .pill.ok", timeout=30)
    # The chain's roles reach the navigation once synced.
    s.go("/inbox")
    s.find("nav a[href$='/certificates']", timeout=90)
    return s


def shot(s, css, name):
    """A screenshot with the element `css` in the middle of the window."""
    s.script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'});", css)
    time.sleep(0.3)
    s.screenshot(name)


def open_screen(s, path, marker):
    """Follows the navigation's link to `path` until `marker` shows (the navigation is drawn again
    when the key's capabilities arrive, which can swallow a click)."""
    for _ in range(10):
        s.go(path)
        try:
            return s.find(marker, timeout=5)
        except AssertionError:
            continue
    raise AssertionError(f"{path} did not open")


def issue(url, genesis, holder_key, statement):
    s = enrol(url, genesis, "hpf-haikou", "林海", ["certificate-issuer", "admin"])
    try:
        s.click(open_screen(s, "/certificates", "[data-testid=cert-issue-open]"))
        s.find("[data-testid=cert-number]")
        set_value(s, "[data-testid=cert-number]", RESIDENT_ID)
        set_value(s, "[data-testid=cert-holder]", holder_key)
        pick_files(s, "[data-testid=cert-file]", [statement])
        wait_until(s, lambda: not s.script("return document.querySelector('[data-testid=cert-sign]').disabled;"),
                   "the statement stored", 30)
        s.click(s.find("[data-testid=cert-sign]"))
        body = json.loads(s.text(s.find("[data-testid=sign-canonical]")))
        assert body["kind"] == "certificate.issue" and RESIDENT_ID not in str(body), body
        cert_id = body["payload"]["cert_id"]
        s.click(s.find("[data-testid=sign-confirm]"))
        print("e2e-hainan: certificate", cert_id, wait_committed(s))
        s.click(s.find(f"[data-testid=cert-row][data-id='{cert_id}'] button", timeout=60))
        code = s.text(s.find("[data-testid=cert-code]", timeout=30))
        assert code.startswith(f"govchain:certificate?chain={CHAIN}&id={cert_id}&salt="), code
        s.click(s.find("[data-testid=export-pdf]"))
        pdf = s.attr(s.find("[data-testid=report-saved]", timeout=30), "data-path")
        check_pdf(pdf, "CERT-", name="certificate-pdf-page1")
        shot(s, "[data-testid=cert-code]", "certificate-issued")
        propose_department(s)
        return cert_id, code, design_and_open(s)
    except Exception:
        s.screenshot("hainan-issue-failed")
        print(s.script("return document.querySelector('main').innerText.slice(0, 800);"))
        raise
    finally:
        s.close()


def new_public_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def propose_department(s):
    """Haikou's admin proposes Danzhou's centre: one of the two departments the consortium needs."""
    open_screen(s, "/admin", "[data-testid=admin-tab-proposals]")
    press(s, "[data-testid=admin-tab-proposals]")
    set_value(s, "[data-testid=adm-p-id]", "hpf-danzhou")
    set_value(s, "[data-testid=adm-p-name]", "儋州市住房公积金管理局")
    set_value(s, "[data-testid=adm-p-node]", new_public_key())
    set_value(s, "[data-testid=adm-p-admins]", f"儋州管理员 {new_public_key()}")
    press(s, "[data-testid=adm-propose]")
    body = signed(s, "department.add")
    assert body["payload"]["id"] == "hpf-danzhou", body
    s.find("[data-testid=adm-progress]", visible_text="已签 1 / 需 2", timeout=60)
    shot(s, "[data-testid=adm-proposal]", "admin-proposed")


def cosign_department(s):
    """Sanya's admin co-signs the proposal in its own app: the third centre joins."""
    open_screen(s, "/admin", "[data-testid=admin-tab-proposals]")
    press(s, "[data-testid=admin-tab-proposals]")
    s.find("[data-testid=adm-what]", visible_text="hpf-danzhou", timeout=30)
    s.click(s.find("label[lang=en]"))
    s.find("[data-testid=adm-progress]", visible_text="1 of 2 signed")
    shot(s, "[data-testid=adm-proposal]", "admin-cosign-en")
    s.click(s.find("label[lang=zh-CN]"))
    press(s, "[data-testid=adm-cosign]")
    body = signed(s, "department.add")
    assert body["payload"]["id"] == "hpf-danzhou", body
    s.find("[data-testid=adm-no-proposals]", timeout=60)
    wait_until(s, lambda: "儋州市住房公积金管理局" in texts(s, "#adm-p-parent option"),
               "the third centre on the chain", 30)


def signed(s, kind):
    """Checks the preview's kind, confirms, waits for the commit; the body."""
    body = json.loads(s.text(s.find("[data-testid=sign-canonical]", timeout=30)))
    assert body["kind"] == kind, body
    print(f"e2e-hainan: {kind}", confirm_and_wait(s))
    return body


JOINT = [("受理", None, 1), ("材料核验", "p", 1), ("缴存核验", "p", 1), ("两地联合签认", None, 2)]


def design_and_open(s):
    """Haikou's admin designs a 4-stage joint review in the designer (a parallel pair, then a
    2-of-n stage), publishes it, opens a case on it and signs all it can: the last stage then
    waits for a second reviewer."""
    open_screen(s, "/admin", "[data-testid=admin-tab-templates]")
    press(s, "[data-testid=admin-tab-templates]")
    press(s, "[data-testid=adm-new-template]")
    for _ in JOINT[1:]:
        s.script("document.querySelector('[data-testid=adm-d-add]').click();")
    wait_until(s, lambda: len(texts(s, "[data-testid=adm-d-stage]")) == len(JOINT), "four stages", 10)
    set_value(s, "[data-testid=adm-d-id]", "hpf-joint-review")
    set_value(s, "[data-testid=adm-d-name]", "异地缴存联合核验")
    s.script("""
        const rows = arguments[0];
        const put = (e, v, ev) => { e.value = v; e.dispatchEvent(new Event(ev, {bubbles: true})); };
        document.querySelectorAll('[data-testid=adm-d-stage]').forEach((e, i) => {
            const tr = e.closest('tr'), [name, group, k] = rows[i];
            put(e, name, 'input');
            put(tr.querySelector('input.role'), 'joint-reviewer', 'input');
            put(tr.querySelector('[data-testid=adm-d-group]'), group || '', 'input');
            put(tr.querySelector('[data-testid=adm-d-threshold]'), String(k), 'input');
        });""", JOINT)
    shot(s, "[data-testid=adm-designer]", "admin-designer-joint")
    press(s, "[data-testid=adm-publish]")
    body = signed(s, "workflow.define")
    assert [(st["name"], st.get("group"), st["threshold"]) for st in body["payload"]["stages"]] == JOINT, body
    # Haikou's official reviews too (its admin grants the role; the CLI would do the same).
    press(s, "[data-testid=admin-tab-officials]")
    me = s.script("return [...document.querySelectorAll('[data-testid=adm-g-official] option')]"
                  ".find(o => o.textContent.includes('林海')).value;")
    s.script("const e = document.querySelector('[data-testid=adm-g-official]'); e.value = arguments[0];"
             "e.dispatchEvent(new Event('change', {bubbles: true}));", me)
    set_value(s, "[data-testid=adm-g-role]", "joint-reviewer")
    set_value(s, "[data-testid=adm-g-scope]", "*")
    press(s, "[data-testid=adm-grant]")
    signed(s, "role.grant")

    s.go("/cases")
    press(s, "[data-testid=intake-open]", timeout=30)
    s.find("#intake-template option[value='hpf-joint-review@1']", timeout=30)
    for css, value in (("#intake-template", "hpf-joint-review@1"), ("#intake-doctype", "")):
        s.script("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
                 "e.dispatchEvent(new Event('change', {bubbles: true}));", css, value)
    set_value(s, "[data-testid=intake-scope]", "hi/haikou")
    set_value(s, "[data-testid=intake-title]", "三亚购房：海口缴存联合核验")
    press(s, "[data-testid=intake-sign]")
    case_id = signed(s, "case.open")["payload"]["case_id"]
    for stage in range(len(JOINT)):
        navigate(s, "/inbox")
        navigate(s, f"/cases/{case_id}")
        s.find(f"[data-testid=stage-{stage}][data-state=current]", timeout=60)
        press(s, "[data-testid=approve]", timeout=60)
        assert signed(s, "case.sign_step")["payload"]["stage"] == stage
    s.find("[data-testid=stage-3-signed]", visible_text="1", timeout=60)
    s.find("[data-testid=case-status][data-status=open]")
    return case_id


def second_signature(s, case_id):
    """Sanya's reviewer gives the 2-of-n stage its second signature: the case is approved."""
    navigate(s, f"/cases/{case_id}")
    s.find("[data-testid=stage-3][data-state=current]", timeout=60)
    press(s, "[data-testid=approve]", timeout=60)
    assert signed(s, "case.sign_step")["payload"]["stage"] == 3
    s.find("[data-testid=case-status][data-status=approved]", timeout=60)
    shot(s, "[data-testid=stage-3]", "admin-joint-case-approved")


def sign_as_citizen(s, name):
    """The citizen's signer reads the request the app shows (saved as a file) and signs it."""
    text = s.script("return document.querySelector('[data-testid=citizen-request-text]').value;")
    path = f"{WORK}/{name}.txt"
    with open(path, "w") as f:
        f.write(text)
    shown, _ = citizen("show", path)
    tx = s.text(s.find("[data-testid=citizen-request-tx]"))
    assert tx in shown, f"the signer shows another transaction: {shown}"
    answer = f"{WORK}/{name}-answer.txt"
    citizen("sign", path, "--yes", "--out", answer)
    set_value(s, "[data-testid=citizen-answer]", open(answer).read().strip())
    s.click(s.find("[data-testid=citizen-submit]"))
    return shown


def verify(url, genesis, cert_id, code, statement, case_id):
    # Sanya's official is an admin, not an issuer at home: any official may verify under the
    # holder's consent. Haikou's admin makes them a reviewer of Haikou's joint review.
    s = enrol(url, genesis, "hpf-sanya", "陈岚", ["admin"], [("hpf-haikou", "joint-reviewer")])
    try:
        open_screen(s, "/certificates", "[data-testid=cert-ask-id]")
        assert not texts(s, "[data-testid=cert-issue-open]"), "issuing offered without the role"
        assert not texts(s, "[data-testid=cert-row]"), "a certificate shown before consent"
        set_value(s, "[data-testid=cert-ask-id]", code)
        set_value(s, "[data-testid=cert-purpose]", "异地购房贷款审核")
        s.click(s.find("[data-testid=cert-ask]"))
        s.find("[data-testid=citizen-request] svg", timeout=30)
        shot(s, "[data-testid=citizen-request]", "certificate-consent-request")
        shown = sign_as_citizen(s, "grant")
        assert "三亚市住房公积金管理局" in shown and "异地购房贷款审核" in shown, shown
        print("e2e-hainan: consent", wait_committed(s))

        # The certificate is shared now; the citizen presents the statement and the code.
        s.click(s.find(f"[data-testid=cert-row][data-id='{cert_id}'] button", timeout=60))
        s.find("[data-testid=consent-row][data-active=true]", timeout=30)
        pick_files(s, "[data-testid=cert-verify-file]", [statement])
        set_value(s, "[data-testid=cert-salt]", code)
        wait_until(s, lambda: not s.script("return document.querySelector('[data-testid=cert-verify]').disabled;"),
                   "the presented statement stored", 30)
        s.click(s.find("[data-testid=cert-verify]"))
        body = json.loads(s.text(s.find("[data-testid=sign-canonical]")))
        assert body["kind"] == "certificate.verify", body
        s.find("[data-testid=sign-commitment][data-matches=true]")
        s.click(s.find("[data-testid=sign-confirm]"))
        s.find("[data-testid=verification-row][data-matches=true]", timeout=60)
        shot(s, "[data-testid=verification-list]", "certificate-verified")

        # The citizen revokes: nothing more to verify under.
        s.click(s.find("[data-testid=consent-revoke]"))
        s.find("[data-testid=citizen-request][data-kind='consent.revoke']", timeout=30)
        sign_as_citizen(s, "revoke")
        s.find("[data-testid=consent-row][data-active=false]", timeout=60)
        s.find("[data-testid=cert-no-consent]", timeout=30)
        shot(s, "[data-testid=consent-list]", "certificate-revoked")
        s.click(s.find("label[lang=en]"))
        s.find("h3", visible_text="Consents")
        shot(s, "[data-testid=consent-list]", "certificate-revoked-en")
        s.click(s.find("label[lang=zh-CN]"))
        cosign_department(s)
        second_signature(s, case_id)
    except Exception:
        s.screenshot("hainan-verify-failed")
        print(s.script("return document.querySelector('main').innerText.slice(0, 800);"))
        raise
    finally:
        s.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    out, _ = citizen("init")
    holder_key = out.splitlines()[0].rsplit(" ", 1)[-1]
    statement = f"{WORK}/缴存证明.txt"
    os.makedirs(WORK, exist_ok=True)
    with open(statement, "w") as f:
        f.write("住房公积金缴存证明：2019-01 至 2026-11 连续缴存，余额 86,420.15 元\n")
    proc, url, genesis = start_node()
    print(f"e2e-hainan: node {url}, chain {CHAIN}")
    try:
        cert_id, code, case_id = issue(url, genesis, holder_key, statement)
        verify(url, genesis, cert_id, code, statement, case_id)
        print("e2e-hainan: passed")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
