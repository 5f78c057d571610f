#!/usr/bin/env python3
"""Real-window end-to-end test of the desktop app (WebDriver through tauri-driver and WebKitWebDriver).

Run by `make e2e` inside Xvfb and a private D-Bus session with a real gnome-keyring
(scripts/with-keyring.sh). First run chooses the demo: the app starts its embedded demo node. The test:
creates a key (first run), finds the demo renovation case in the inbox, opens it, signs the user's
stage after checking the canonical JSON and SHA-256 shown, waits until the signature is committed in
a block the app verified, switches to English, confirms the demo project's payment the same way,
checks a transaction's inclusion proof in the explorer, opens a case at the service window with two
picked files and a typed ID number (its receipt PDF read back by OCR), adds, looks up and removes a
blacklist entry, requests a payment with a 1,000-line XLSX payroll (after a CSV with three bad rows
is refused row by row), and saves screenshots of each screen in OUT_DIR, plus start-up time and idle memory
in metrics.json.

    e2e.py APP_BINARY OUT_DIR [WEBDRIVER_URL]

Standard library only: the WebDriver protocol is plain JSON over HTTP.
"""
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

APP, OUT = sys.argv[1], sys.argv[2]
DRIVER = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:4444"
ELEMENT = "element-6066-11e4-a52e-4f735466cecc"


def eid(el):
    """The id of an element reference (W3C key, or the legacy one)."""
    if not isinstance(el, dict) or not el:
        raise AssertionError(f"not an element: {el!r}")
    return el.get(ELEMENT) or next(iter(el.values()))


def request(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    # tauri-driver sometimes reuses a connection to WebKitWebDriver that the latter has closed and
    # then drops ours ("client error (SendRequest)"): the command never reached the browser, so
    # sending it again is safe.
    for attempt in range(4):
        req = urllib.request.Request(DRIVER + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            if e.code == 502 and attempt < 3:
                time.sleep(0.3)
                continue
            raise RuntimeError(f"{method} {path}: {e.code} {detail}") from None
        except (ConnectionError, http.client.RemoteDisconnected):
            if attempt == 3:
                raise
            time.sleep(0.3)


class Session:
    def __init__(self):
        caps = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": APP}}}}
        for _ in range(60):
            try:
                self.id = request("POST", "/session", caps)["sessionId"]
                return
            except (RuntimeError, urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        raise RuntimeError("could not start a WebDriver session")

    def cmd(self, method, path, body=None):
        return request(method, f"/session/{self.id}{path}", body)

    def script(self, source, *args):
        return self.cmd("POST", "/execute/sync", {"script": source, "args": list(args)})

    def find(self, css, timeout=30.0, visible_text=None):
        """Waits for an element matching `css` (and containing `visible_text`)."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            found = self.script(
                "const t = arguments[1];"
                "for (const e of document.querySelectorAll(arguments[0])) {"
                "  if (!t || e.textContent.includes(t)) return e; }"
                "return null;", css, visible_text)
            if found:
                return found
            time.sleep(0.2)
            last = css
        raise AssertionError(f"timed out waiting for {last} {visible_text or ''}")

    def click(self, el):
        self.cmd("POST", f"/element/{eid(el)}/click", {})

    def type(self, el, text):
        self.cmd("POST", f"/element/{eid(el)}/value", {"text": text})

    def text(self, el):
        return self.cmd("GET", f"/element/{eid(el)}/text")

    def attr(self, el, name):
        return self.script("return arguments[0].getAttribute(arguments[1]);", el, name)

    def go(self, path):
        """Follows the app's own link to `path` (client-side navigation)."""
        self.click(self.find(f'a[href="{path}"]'))

    def screenshot(self, name):
        """Captures the real window from the X server (what the official sees). WebDriver's own
        screenshot needs WebKit's GPU compositing, which the app turns off (see src-tauri/lib.rs)."""
        # Two animation frames: the last change is painted before the capture.
        self.cmd("POST", "/execute/async", {"script": "const done = arguments[0]; "
                 "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", "args": []})
        path = os.path.join(OUT, f"{name}.png")
        subprocess.run(["import", "-window", "root", path], check=True, timeout=30)
        print(f"e2e: screenshot {path} ({os.path.getsize(path)} bytes)")

    def close(self):
        try:
            self.cmd("DELETE", "")
        except Exception:  # the app may already be gone
            pass


def check_preview(s):
    """The dialog shows canonical JSON whose SHA-256 is the digest it shows."""
    canonical = s.text(s.find("[data-testid=sign-canonical]"))
    digest = s.text(s.find("[data-testid=sign-sha256]"))
    actual = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert actual == digest, f"shown SHA-256 {digest} is not SHA-256 of the shown JSON ({actual})"
    assert json.loads(canonical)["chain_id"] == "gov-demo"
    return json.loads(canonical)


def navigate(s, href):
    """Client-side navigation to `href` (the app's router handles a clicked link)."""
    s.script("const a = document.createElement('a'); a.href = arguments[0];"
             "document.body.appendChild(a); a.click(); a.remove();", href)


def set_value(s, css, text):
    """Fills a text field as typing would (an input event), without sending every key."""
    s.script("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
             "e.dispatchEvent(new Event('input', {bubbles: true}));", css, text)


def wait_reports(s, n, timeout=30.0):
    """Waits until `n` proof reports are shown and all of them passed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        oks = s.script("return [...document.querySelectorAll('[data-testid=proof-report]')]"
                       ".map(e => e.dataset.ok);")
        if len(oks) >= n:
            assert all(o == "1" for o in oks), f"a proof failed: {oks}"
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {n} proof reports")


def check_pdf(path, needle, name="case-report-page1"):
    """Renders page 1 of the PDF to PNG (poppler) and reads it back with OCR (tesseract): the
    rendered page must show `needle`. The PNG (`name`) is kept with the screenshots."""
    png = os.path.join(OUT, name)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", "-singlefile", path, png],
                   check=True)
    ocr = subprocess.run(["tesseract", png + ".png", "-", "-l", "eng"], check=True,
                         capture_output=True, text=True).stdout
    assert needle in ocr.replace(" ", ""), f"OCR of the report does not show {needle}: {ocr[:400]}"
    print(f"e2e: PDF report {path} rendered and read back: contains {needle}")


def wait_committed(s):
    status = s.find("[data-testid=outbox-status][data-status=committed]", timeout=60)
    return s.text(status)


def confirm_and_wait(s):
    """Confirms the signing dialog, waits for it to close (the screen then follows the new
    transaction, not an earlier one still shown as committed), then for the commit."""
    s.click(s.find("[data-testid=sign-confirm]"))
    deadline = time.time() + 30
    while s.script("return !!document.querySelector('[data-testid=sign-confirm]');"):
        assert time.time() < deadline, "the signing dialog did not close"
        time.sleep(0.2)
    return wait_committed(s)


def process_tree_memory_mib(name):
    """Memory of the newest process called `name` and all its descendants (the web and network
    processes), in MiB: (RSS, PSS). PSS counts shared pages (libraries) in proportion."""
    procs = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/smaps_rollup") as f:
                fields = {l.split(":")[0]: int(l.split()[1]) for l in f.read().splitlines()[1:]
                          if l.endswith("kB")}
        except (OSError, ValueError):
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        procs[int(pid)] = (comm, ppid, fields.get("Rss", 0), fields.get("Pss", 0))
    roots = [p for p, v in procs.items() if v[0] == name]
    if not roots:
        return 0.0, 0.0
    tree, frontier = set(), [max(roots)]
    while frontier:
        p = frontier.pop()
        tree.add(p)
        frontier += [c for c, v in procs.items() if v[1] == p and c not in tree]
    return (sum(procs[p][2] for p in tree) / 1024, sum(procs[p][3] for p in tree) / 1024)


def web_process_environment(name):
    """The environment of the newest WebKitWebProcess under the app called `name`."""
    procs = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        procs[int(pid)] = (stat[stat.index("(") + 1:stat.rindex(")")], int(stat[stat.rindex(")") + 2:].split()[1]))
    app = max(p for p, v in procs.items() if v[0] == name)
    web = max(p for p, v in procs.items() if v[0].startswith("WebKitWebProces") and v[1] == app)
    with open(f"/proc/{web}/environ", "rb") as f:
        return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)


def pick_files(s, css, paths):
    """Picks files in a file input as the official would: WebDriver's send keys with their paths."""
    field = s.find(css)
    s.cmd("POST", f"/element/{eid(field)}/value", {"text": "\n".join(paths)})


def write_xlsx(path, rows):
    """A minimal XLSX workbook (one sheet, inline strings and numbers), as a spreadsheet saves it."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(ref, v):
        if isinstance(v, (int, float)):
            return f'<c r="{ref}"><v>{v}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'

    sheet_rows = "".join(
        f'<row r="{i + 1}">' + "".join(cell(f"{chr(65 + j)}{i + 1}", v) for j, v in enumerate(r)) + "</row>"
        for i, r in enumerate(rows))
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="工资表" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{sheet_rows}</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)


def resident_id(n):
    """The nth test worker's resident ID (GB 11643 check character)."""
    first = f"11010519800101{n:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first + "10X98765432"[sum(int(c) * w for c, w in zip(first, weights)) % 11]


def payment_request(s):
    """The contractor requests a payment with a payroll: a CSV with three bad rows is refused row by
    row, then a 1,000-line XLSX is signed (committed to by its root, its lines in chunks)."""
    bad = os.path.join(OUT, "upload-payroll-bad.csv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("姓名,证件号码,金额\n")
        f.write(f"甲,{resident_id(1)},1200\n乙,110105198001010010,1200\n丙,{resident_id(2)},abc\n丁,{resident_id(1)},900\n")
    good = os.path.join(OUT, "upload-payroll-1000.xlsx")
    write_xlsx(good, [["姓名", "证件号码", "金额"]] + [[f"工人{i}", resident_id(i), 150 + i % 50] for i in range(1000)])
    s.go("/projects")
    s.go("/projects/XA-2026-011")
    s.find("[data-testid=payment-request]", timeout=30)
    pick_files(s, "[data-testid=payreq-payroll]", [bad])
    s.find("[data-testid=payroll-summary][data-refused='3']", timeout=30)
    rows = s.script("return [...document.querySelectorAll('[data-testid=payroll-errors] tbody tr')]"
                    ".map(r => r.cells[0].textContent.trim());")
    assert rows == ["3", "4", "5"], rows
    s.script("document.querySelector('[data-testid=payroll-errors]').scrollIntoView({block: 'center'});")
    s.screenshot("payroll-errors")
    pick_files(s, "[data-testid=payreq-payroll]", [good])
    s.find("[data-testid=payroll-summary][data-refused='0']", timeout=60)
    set_value(s, "[data-testid=payreq-purpose]", "路面修复一期人工费")
    s.click(s.find("[data-testid=payreq-sign]"))
    body = check_preview(s)
    assert body["kind"] == "payment.request" and body["payload"]["payroll_lines"] == 1000, body
    s.find("[data-testid=sign-follow-ups]")
    s.screenshot("payment-request-signing")
    s.click(s.find("[data-testid=sign-confirm]"))
    print("e2e: payment request", wait_committed(s))
    s.screenshot("payment-requested")
    # Its 1,000 lines are listed a page at a time, the next page from the core.
    pager = "[data-testid^=payroll-pager-]"
    s.find(pager, visible_text="1–100", timeout=60)
    s.script(f"document.querySelector('{pager}').scrollIntoView({{block: 'center'}});")
    started = time.monotonic()
    s.click(s.find(f"{pager} button:nth-of-type(2)"))
    s.find(pager, visible_text="101–200")
    print(f"e2e: next payroll page shown in {(time.monotonic() - started) * 1000:.0f} ms (1,000 lines)")
    s.screenshot("payroll-paged")
    # The same, in English: the payroll refused by row, then the signed request.
    s.click(s.find("label[lang=en]"))
    s.find("h2", visible_text="Request a payment")
    pick_files(s, "[data-testid=payreq-payroll]", [bad])
    s.find("[data-testid=payroll-summary][data-refused='3']", timeout=30)
    s.script("document.querySelector('[data-testid=payroll-errors]').scrollIntoView({block: 'center'});")
    s.screenshot("payroll-errors-en")
    s.click(s.find("label[lang=zh-CN]"))


def intake_and_blacklist(s):
    """A service-window clerk opens a case with two documents and a typed ID number; the fire
    department's blacklist officer adds, looks up (a signed read) and removes an entry."""
    typed_id = "１１０１０５ 19491231 002x"
    docs = []
    for name, body in (("申请表.txt", "北山街 12 号老旧小区改造申请表"), ("总平面图.pdf", "%PDF-1.4 site plan")):
        path = os.path.join(OUT, "upload-" + name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
        docs.append((path, hashlib.sha256(body.encode()).hexdigest()))
    s.go("/cases")
    s.click(s.find("[data-testid=intake-open]", timeout=30))
    s.find("#intake-template option", visible_text="old-city-renovation")
    s.find("[data-testid=intake-number]")
    set_value(s, "[data-testid=intake-title]", "北山街 12 号老旧小区改造（窗口受理）")
    # A fixed case id: the receipt's OCR reads it back (random hex reads ambiguously).
    set_value(s, "#intake-id", "HZ-2026-0101")
    set_value(s, "[data-testid=intake-number]", typed_id)
    pick_files(s, "[data-testid=intake-files]", [p for p, _ in docs])
    for _, digest in docs:
        s.find(f"code[title='{digest}']", timeout=30)
    s.screenshot("intake")
    s.click(s.find("[data-testid=intake-sign]"))
    body = check_preview(s)
    assert body["kind"] == "case.open", body
    canonical = s.text(s.find("[data-testid=sign-canonical]"))
    assert "19491231" not in canonical and len(body["payload"]["applicant"]) == 64, canonical
    assert body["payload"]["documents"] == [d for _, d in docs], body
    s.screenshot("intake-signing")
    s.click(s.find("[data-testid=sign-confirm]"))
    print("e2e: intake", wait_committed(s))
    case_id = body["payload"]["case_id"]
    # The citizen's receipt: written, rendered and read back.
    s.click(s.find("[data-testid=intake-form] [data-testid=export-pdf]", timeout=30))
    pdf = s.attr(s.find("[data-testid=report-saved]", timeout=60), "data-path")
    check_pdf(pdf, case_id, "intake-receipt-page1")
    s.screenshot("intake-receipt")
    # The case list finds it by its number: filtered in the core, one row.
    s.go("/cases")
    set_value(s, "[data-testid=cases-search]", case_id)
    s.find("[data-testid=cases-pager]", visible_text="共 1 条", timeout=30)
    rows = s.script("return document.querySelectorAll('main tbody tr').length;")
    assert rows == 1, rows
    s.screenshot("cases-search")
    s.go(f"/cases/{case_id}")
    s.find("h1", visible_text="窗口受理")
    s.find("[data-testid=case-document][data-state=matches]", visible_text="总平面图.pdf", timeout=30)
    s.find("[data-testid=case-document][data-state=matches]", visible_text="申请表.txt")
    s.screenshot("case-documents")

    # The blacklist: add an entry, look it up (recorded on the ledger), in both languages, remove it.
    s.go("/blacklist")
    s.find("[data-testid=bl-add-number]", timeout=30)
    set_value(s, "[data-testid=bl-add-number]", typed_id)
    s.click(s.find("[data-testid=bl-add]"))
    body = check_preview(s)
    assert body["kind"] == "blacklist.add" and body["payload"]["subject"] != typed_id, body
    s.click(s.find("[data-testid=sign-confirm]"))
    print("e2e: blacklist entry", wait_committed(s))
    s.find("table.list td code", visible_text="loan-default", timeout=30)
    set_value(s, "[data-testid=bl-look-number]", typed_id)
    set_value(s, "[data-testid=bl-purpose]", "公积金贷款审批前核查")
    s.click(s.find("[data-testid=bl-lookup]"))
    s.find("[data-testid=bl-result] .pill.ok", timeout=60)
    s.find("[data-testid=bl-result]", visible_text="共 1 条有效登记")
    s.screenshot("blacklist")
    s.click(s.find("label[lang=en]"))
    s.find("h1", visible_text="Blacklist")
    s.screenshot("blacklist-en")
    s.go("/cases")
    s.click(s.find("[data-testid=intake-open]", timeout=30))
    s.find("#intake-template option", visible_text="old-city-renovation")
    s.screenshot("intake-en")
    s.click(s.find("label[lang=zh-CN]"))
    s.go("/blacklist")
    s.click(s.find("button", visible_text="移除", timeout=30))
    body = check_preview(s)
    assert body["kind"] == "blacklist.remove", body
    s.click(s.find("[data-testid=sign-confirm]"))
    s.find("p.muted", visible_text="本部门目前没有有效登记", timeout=60)


def press(s, css, timeout=30.0):
    """Clicks the element `css` after bringing it to the middle of the window (a click at the
    window's edge can land on the sticky status bar instead). An element the screen drew again
    meanwhile is looked up again."""
    for attempt in range(3):
        el = s.find(css, timeout=timeout)
        try:
            s.script("arguments[0].scrollIntoView({block: 'center'});", el)
            s.click(el)
            return
        except RuntimeError as e:
            if "stale element" in str(e) and attempt < 2:
                time.sleep(0.3)
                continue
            if "intercepted" not in str(e):
                raise
            over = s.script("const r = arguments[0].getBoundingClientRect();"
                            "const o = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
                            "return o ? o.outerHTML.slice(0, 160) : 'nothing';", el)
            print(f"e2e: a click on {css} was intercepted by {over}; clicking it from the page")
            s.script("arguments[0].click();", el)
            return


def administration(s):
    """The demo user is one of the fire department's admins: registers a new official from their
    registration request, grants a scoped role valid from a future date, co-signs the consortium
    action the city's admin proposed, imports a Flowable BPMN process into the designer and
    publishes it, then a second version whose difference is shown."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    pk = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    request = json.dumps({"kind": "official.register",
                          "payload": {"department": "fire", "name": "韩梅", "public_key": pk},
                          "key_storage": {"kind": "keychain"}}, ensure_ascii=False)

    def choose(css, value):
        s.script("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
                 "e.dispatchEvent(new Event('change', {bubbles: true}));", css, value)

    def sign(kind):
        body = check_preview(s)
        assert body["kind"] == kind, body
        print(f"e2e: admin {kind}", confirm_and_wait(s))
        return body

    s.go("/admin")
    s.find("[data-testid=adm-request]", timeout=30)
    set_value(s, "[data-testid=adm-request]", request)
    press(s, "[data-testid=adm-check]")
    fingerprint = s.text(s.find("[data-testid=adm-fingerprint]", timeout=30))
    assert len(fingerprint.replace(" ", "")) >= 16, fingerprint
    s.screenshot("admin-register")
    press(s, "[data-testid=adm-register]")
    sign("official.register")
    s.find("[data-testid=adm-officials] td", visible_text="韩梅", timeout=60)
    official = s.script("return [...document.querySelectorAll('[data-testid=adm-g-official] option')]"
                        ".find(o => o.textContent.includes('韩梅')).value;")
    choose("[data-testid=adm-g-official]", official)
    set_value(s, "[data-testid=adm-g-role]", "fire-inspector")
    set_value(s, "[data-testid=adm-g-scope]", "hz/xihu")
    set_value(s, "[data-testid=adm-g-from]", "2099-01-01")
    press(s, "[data-testid=adm-grant]")
    body = sign("role.grant")
    assert body["payload"]["valid_from"] == "2098-12-31T16:00:00.000Z", body
    s.find("[data-testid=adm-officials] .chip.pending", timeout=60)
    s.script("document.querySelector('[data-testid=adm-officials]').scrollIntoView({block: 'center'});")
    s.screenshot("admin-officials")

    press(s, "[data-testid=admin-tab-proposals]")
    s.find("[data-testid=adm-proposal]", visible_text="department.add", timeout=30)
    s.screenshot("admin-proposals")
    press(s, "[data-testid=adm-cosign]")
    sign("department.add")
    s.find("[data-testid=adm-no-proposals]", timeout=60)

    press(s, "[data-testid=admin-tab-templates]")
    fixture = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "bpmn",
                                           "tests", "fixtures", "flowable-renovation.bpmn20.xml"))
    set_value(s, "[data-testid=adm-bpmn-id]", "fire-renovation")
    pick_files(s, "[data-testid=adm-bpmn-file]", [fixture])
    s.find("[data-testid=adm-bpmn-problems]", visible_text="bpmn.unmapped_group", timeout=30)
    s.script("document.querySelectorAll('[data-testid=adm-bpmn-groups] tbody tr').forEach(r => {"
             " const d = r.querySelector('select'); d.value = 'fire'; d.dispatchEvent(new Event('change', {bubbles: true}));"
             " const i = r.querySelector('input'); i.value = 'fire-inspector'; i.dispatchEvent(new Event('input', {bubbles: true}));"
             "});")
    press(s, "[data-testid=adm-bpmn-import]")
    s.find("[data-testid=adm-designer]", timeout=30)
    s.script("document.querySelector('[data-testid=adm-designer]').scrollIntoView({block: 'start'});")
    s.screenshot("admin-designer")
    s.script("document.querySelector('[data-testid=adm-publish]').scrollIntoView({block: 'center'});")
    press(s, "[data-testid=adm-publish]")
    body = sign("workflow.define")
    assert body["payload"]["id"] == "fire-renovation" and len(body["payload"]["stages"]) == 4, body
    s.find(".templates button", visible_text="fire-renovation", timeout=60)
    s.click(s.find(".templates button", visible_text="fire-renovation"))
    press(s, "[data-testid=adm-new-version]", timeout=30)
    s.find("[data-testid=adm-d-version][data-version='2']", timeout=30)
    s.script("document.querySelector('[data-testid=adm-d-add]').scrollIntoView({block: 'center'});")
    press(s, "[data-testid=adm-d-add]")
    s.find("tr:nth-child(5) [data-testid=adm-d-stage]", timeout=30)
    s.script("const n = document.querySelectorAll('[data-testid=adm-d-stage]'); const e = n[n.length - 1];"
             "e.value = '消防复查'; e.dispatchEvent(new Event('input', {bubbles: true}));"
             "const r = e.closest('tr').querySelector('input.role'); r.value = 'fire-inspector';"
             "r.dispatchEvent(new Event('input', {bubbles: true}));")
    # Stages 2 and 3 become a parallel pair: signed in either order.
    s.script("const g = document.querySelectorAll('[data-testid=adm-d-group]');"
             "for (const i of [1, 2]) { g[i].value = 'p'; g[i].dispatchEvent(new Event('input', {bubbles: true})); }")
    s.script("document.querySelector('[data-testid=adm-publish]').scrollIntoView({block: 'center'});")
    press(s, "[data-testid=adm-publish]")
    body = sign("workflow.define")
    assert body["payload"]["version"] == 2 and len(body["payload"]["stages"]) == 5, body
    assert [st.get("group") for st in body["payload"]["stages"]] == [None, "p", "p", None, None], body
    s.find("[data-testid=adm-diff] tr[data-change=added]", timeout=60)
    s.script("document.querySelector('[data-testid=adm-diff]').scrollIntoView({block: 'center'});")
    s.screenshot("admin-templates")
    s.click(s.find("label[lang=en]"))
    s.find("h1", visible_text="Administration")
    s.screenshot("admin-templates-en")
    s.click(s.find("label[lang=zh-CN]"))

    # A case opened on the second version runs to approval (the user holds its role at hz).
    s.go("/cases")
    press(s, "[data-testid=intake-open]", timeout=30)
    s.find("#intake-template option[value='fire-renovation@2']", timeout=30)
    choose("#intake-template", "fire-renovation@2")
    choose("#intake-doctype", "")
    set_value(s, "[data-testid=intake-title]", "西湖区北山街 8 号消防改造（新模板）")
    press(s, "[data-testid=intake-sign]")
    case_id = sign("case.open")["payload"]["case_id"]
    for stage in range(5):
        navigate(s, "/inbox")
        s.find("h1", visible_text="收件箱")
        navigate(s, f"/cases/{case_id}")
        s.find(f"[data-testid=stage-{stage}][data-state=current]", timeout=60)
        press(s, "[data-testid=approve]", timeout=60)
        body = sign("case.sign_step")
        assert body["payload"]["stage"] == stage, body
    s.find("[data-testid=case-status][data-status=approved]", timeout=60)
    s.screenshot("admin-case-approved")


def main():
    os.makedirs(OUT, exist_ok=True)
    started = time.monotonic()
    s = Session()
    s.find("html[data-ready='1']", timeout=60)
    startup_ms = (time.monotonic() - started) * 1000
    print(f"e2e: cold start to interactive {startup_ms:.0f} ms (session start → first data shown)")
    try:
        # First run: the demo (the other choice, a department's nodes, is e2e_connect.py's), then a
        # key in the keychain; the demo consortium registers it.
        s.click(s.find("[data-testid=first-run-demo]", timeout=60))
        name = s.find("[data-testid=first-run-name]", timeout=60)
        # Idle after start: the first screen shown, nothing touched yet.
        time.sleep(5)
        start_rss, start_pss = process_tree_memory_mib(os.path.basename(APP)[:15])
        print(f"e2e: idle memory after start RSS {start_rss:.0f} MiB, PSS {start_pss:.0f} MiB")
        # Hardened web engine: JavaScriptCore runs without its JIT compilers.
        web_env = web_process_environment(os.path.basename(APP)[:15])
        assert web_env.get(b"JSC_useJIT") == b"0"
        assert web_env.get(b"WEBKIT_DISABLE_DMABUF_RENDERER") == b"1"
        s.screenshot("first-run")
        s.type(name, "李明")
        s.click(s.find("[data-testid=first-run-submit]"))

        # Inbox: the renovation case waits at the fire stage.
        row = s.find("[data-testid=inbox-row]", timeout=60, visible_text="HZ-2026-0042")
        s.screenshot("inbox")
        s.click(s.script("return arguments[0].querySelector('a');", row))

        # Case: the fire stage is the user's; sign it.
        s.find("[data-testid=stage-1][data-state=current]")
        s.type(s.find("[data-testid=sign-comment]"), "消防通道与喷淋系统设计符合规范，同意。")
        s.click(s.find("[data-testid=approve]"))
        body = check_preview(s)
        assert body["kind"] == "case.sign_step" and body["payload"]["stage"] == 1, body
        s.screenshot("case-signing")
        s.click(s.find("[data-testid=sign-confirm]"))
        print("e2e: case step", wait_committed(s))
        s.find("[data-testid=stage-1][data-state=done]")
        s.find("[data-testid=stage-2][data-state=current]")
        s.screenshot("case-committed")

        # English, then the supervisor confirms the project's payment.
        s.click(s.find("label[lang=en]"))
        s.find("h1, h2", visible_text="Stages")
        s.go("/projects")
        s.go("/projects/XA-2026-007")
        s.find("[data-testid=payment-P-001]", timeout=30)
        accept = s.find("[data-testid=payment-accept]")
        s.screenshot("payments-en")
        s.click(accept)
        body = check_preview(s)
        assert body["kind"] == "payment.confirm" and body["payload"]["verdict"] == "accept", body
        s.click(s.find("[data-testid=sign-confirm]"))
        print("e2e: payment", wait_committed(s))
        s.find("[data-testid=payment-P-001]", visible_text="Awaiting approval")
        s.screenshot("payments-confirmed-en")

        # Back to Chinese for the README's screenshots.
        s.click(s.find("label[lang=zh-CN]"))
        s.find("h2", visible_text="预算执行")
        s.screenshot("payments")
        # The auditor's explorer: a transaction's inclusion proof, checked in the app.
        s.go("/explorer")
        s.find("[data-testid^=block-]")
        s.type(s.find("[data-testid=search]"), "1")
        s.click(s.find("[data-testid=hit-block]", timeout=30))
        s.find("#block-h", visible_text="1")
        s.click(s.find("[data-testid=tx-0]"))
        s.click(s.find("[data-testid=verify-inclusion]"))
        report = s.find("[data-testid=proof-report][data-ok='1']", timeout=30)
        s.script("arguments[0].scrollIntoView({block: 'center'});", report)
        s.screenshot("explorer-proof")
        # The checkpoint and proof as text, handed to someone else (pasted on Proofs below).
        note = s.script("return document.querySelector('[data-testid=evidence-note]').textContent;")
        proof = s.script("return document.querySelector('[data-testid=evidence-proof]').textContent;")
        assert note.startswith("govchain.local/") and '"leaf_hash"' in proof, (note, proof)

        # Search finds the case; its PDF audit report is written, rendered and read back by OCR.
        box = s.find("[data-testid=search]")
        s.type(box, "HZ-2026-0042")
        s.click(s.find("[data-testid=hit-case]", timeout=30))
        s.find("h1", visible_text="北山街")
        s.click(s.find("[data-testid=export-pdf]"))
        pdf = s.attr(s.find("[data-testid=report-saved]", timeout=60), "data-path")
        check_pdf(pdf, "HZ-2026-0042")
        s.screenshot("case-report-saved")

        # The chain graph around the case: its transactions, their blocks and signers.
        navigate(s, "/graph?focus=case:HZ-2026-0042")
        s.find("[data-testid=graph-canvas] canvas", timeout=30)
        s.find("#graph-nodes option", visible_text="李明")
        time.sleep(1)
        s.screenshot("graph")

        # Dashboards: approvals per department per week, stage times, payments.
        s.go("/dashboards")
        s.find("[data-testid=chart-approvals] canvas", timeout=30)
        s.find("[data-testid=chart-payments] canvas", timeout=30)
        time.sleep(1.5)
        s.screenshot("dashboards")

        # Proofs: consistency between two verified checkpoints, and the pasted proof from above.
        s.go("/proofs")
        s.click(s.find("[data-testid=verify-consistency]", timeout=30))
        s.find("[data-testid=proof-report][data-ok='1']", timeout=30)
        set_value(s, "[data-testid=paste-note]", note)
        set_value(s, "[data-testid=paste-proof]", proof)
        s.click(s.find("[data-testid=verify-pasted]"))
        wait_reports(s, 2)
        s.screenshot("proofs")
        # The auditor's screens in English too.
        s.click(s.find("label[lang=en]"))
        s.find("h1", visible_text="Proofs")
        s.screenshot("proofs-en")
        s.go("/dashboards")
        s.find("[data-testid=chart-approvals] canvas", timeout=30)
        time.sleep(1.5)
        s.screenshot("dashboards-en")
        navigate(s, "/graph?focus=case:HZ-2026-0042")
        s.find("[data-testid=graph-canvas] canvas", timeout=30)
        time.sleep(1)
        s.screenshot("graph-en")
        s.click(s.find("label[lang=zh-CN]"))
        s.find("h1", visible_text="链上关系图")

        # Fund flow: the project's budget as a Sankey diagram.
        s.go("/funds")
        try:
            s.find("[data-testid=sankey] canvas", timeout=30)
        except AssertionError:
            s.screenshot("funds-failed")
            print("e2e: funds page", s.script("return document.querySelector('main').innerText.slice(0, 600);"))
            raise
        # The demo history's project: payments executed over weeks.
        s.find("td", visible_text="¥1,500,000.00")
        s.find("td", visible_text="execute")
        s.find("[data-testid=spending] canvas", timeout=30)
        time.sleep(1.5)  # the chart animates in
        s.screenshot("funds-sankey")
        s.script("document.querySelector('[data-testid=spending]').scrollIntoView({block: 'center'});")
        time.sleep(0.5)
        s.screenshot("funds-over-time")

        # Access audit: the demo officials' recorded reads of sensitive data.
        s.go("/access")
        s.find("table.heat")
        s.find("td", visible_text="核对房屋产权")
        csv = s.find("a.csv[href^='blob:']")
        assert s.attr(csv, "download") == "access-log.csv"
        s.screenshot("access-audit")

        intake_and_blacklist(s)
        payment_request(s)
        administration(s)

        s.go("/settings")
        s.find("[data-testid=key-card]")
        # Pin the chain this workstation verified: only it is accepted from now on.
        s.click(s.find("[data-testid=pin-current]"))
        s.find("p.hint", visible_text="只接受这条链")
        # Require the fire and construction departments' cosignatures on checkpoints.
        quorum = s.find("[data-testid=witness-quorum]")
        s.cmd("POST", f"/element/{eid(quorum)}/clear", {})
        s.type(quorum, "2")
        s.click(s.find("[data-testid=witness-save]"))
        s.find("[data-testid=status-witnesses]", timeout=30, visible_text="见证 2/2")
        s.find("[data-testid=witnesses]", visible_text="杭州市消防救援支队")
        s.screenshot("settings")
        time.sleep(5)
        rss, pss = process_tree_memory_mib(os.path.basename(APP)[:15])
        print(f"e2e: idle memory after the flow RSS {rss:.0f} MiB, PSS {pss:.0f} MiB (app, web and network processes)")
        with open(os.path.join(OUT, "metrics.json"), "w") as f:
            json.dump({"startup_ms": round(startup_ms),
                       "start_idle_rss_mib": round(start_rss), "start_idle_pss_mib": round(start_pss),
                       "idle_rss_mib": round(rss), "idle_pss_mib": round(pss)}, f)
        print("e2e: passed")
    except Exception:
        s.screenshot("failed")
        print("e2e: failed at", s.script("return location.href;"))
        print(s.script("return document.querySelector('main').innerText.slice(0, 800);"))
        raise
    finally:
        s.close()


if __name__ == "__main__":
    main()
