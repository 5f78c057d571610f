#!/usr/bin/env python3
"""Real-window E2E, fourth scenario: an official signs with a key on a hardware token (issue 23).

A SoftHSM2 token (a real PKCS#11 module) stands in for the official's USB key. A fresh workstation
on the embedded demo: first run, then Settings → Hardware key: the module is offered, its token
listed, a key made on the token with its PIN (the demo registers it as a fire inspector) and made
the signing key; the token is locked. On the renovation case the signing dialog asks for the
token's PIN (en, then zh-CN); a wrong PIN is refused with its code and nothing is signed; the right
one signs and the step commits.

    e2e_token.py APP_BINARY OUT_DIR WEBDRIVER_URL NODE_BINARY WORK_DIR

Screenshots go to OUT_DIR.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import check_preview, set_value, wait_committed  # noqa: E402
from e2e_connect import session, wait_until  # noqa: E402

WORK = sys.argv[5]
TOKEN = "消防支队UKey"
PIN = "Ukey-2468"
MODULES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]


def softhsm():
    """A token directory of its own with one initialised token; its config file."""
    tokens = os.path.join(WORK, "hsm", "tokens")
    os.makedirs(tokens, exist_ok=True)
    conf = os.path.join(WORK, "hsm", "softhsm2.conf")
    with open(conf, "w") as f:
        f.write(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", "so-" + PIN,
                    "--pin", PIN], env=dict(os.environ, SOFTHSM2_CONF=conf), check=True, capture_output=True)
    return conf, next(m for m in MODULES if os.path.exists(m))


def approve_dialog(s, comment):
    """Opens the signing dialog for the fire stage of the renovation case."""
    s.go("/inbox")
    row = s.find("[data-testid=inbox-row]", timeout=60, visible_text="HZ-2026-0042")
    s.click(s.script("return arguments[0].querySelector('a');", row))
    s.find("[data-testid=stage-1][data-state=current]", timeout=30)
    set_value(s, "[data-testid=sign-comment]", comment)
    s.click(s.find("[data-testid=approve]"))
    body = check_preview(s)
    assert body["kind"] == "case.sign_step" and body["payload"]["stage"] == 1, body
    return body


def main():
    os.makedirs(e2e.OUT, exist_ok=True)
    conf, module = softhsm()
    s = session(os.path.join(WORK, "ws-token"), {"SOFTHSM2_CONF": conf})
    try:
        s.click(s.find("[data-testid=first-run-demo]", timeout=60))
        s.type(s.find("[data-testid=first-run-name]", timeout=60), "王芳")
        s.click(s.find("[data-testid=first-run-submit]"))
        s.find("[data-testid=inbox-row]", timeout=60)

        # Settings: the module found here is offered; its token listed; a key made on it.
        s.go("/settings")
        field = s.find("[data-testid=token-module]", timeout=30)
        wait_until(s, lambda: s.script("return arguments[0].value;", field) != "", "a module offered", 20)
        set_value(s, "[data-testid=token-module]", module)
        s.click(s.find("[data-testid=token-list]"))
        card = s.find("[data-testid=token-card]", timeout=30, visible_text=TOKEN)
        s.script("arguments[0].querySelector('details').open = true;", card)
        set_value(s, "[data-testid=token-key-name]", "王芳（UKey）")
        set_value(s, "[data-testid=token-pin]", PIN)
        s.click(s.find("[data-testid=token-create]"))
        s.find("[data-testid=key-on-token]", timeout=60)
        s.find("[data-testid=token-key]", timeout=30, visible_text="王芳（UKey）")
        s.script("document.querySelector('[data-testid=token-keys]').scrollIntoView({block: 'start'});")
        time.sleep(0.3)
        s.screenshot("token-settings")
        # Locked: the next signature asks for the PIN.
        s.click(s.find("[data-testid=token-card] button.secondary", visible_text="立即上锁"))
        s.find("[data-testid=token-card]", visible_text="已上锁", timeout=30)

        # English: the dialog names the token and asks for its PIN.
        s.click(s.find("label[lang=en]"))
        approve_dialog(s, "Fire exits and sprinklers comply (signed with the USB key).")
        s.find("[data-testid=sign-token]", visible_text=TOKEN)
        s.find("[data-testid=sign-pin]")
        s.screenshot("token-pin-en")
        s.click(s.find("dialog button.secondary"))

        # Chinese: a wrong PIN is refused, the right one signs.
        s.click(s.find("label[lang=zh-CN]"))
        approve_dialog(s, "消防通道与喷淋系统设计符合规范，同意（UKey 签署）。")
        s.find("[data-testid=sign-pin]")
        s.screenshot("token-pin-zh-CN")
        set_value(s, "[data-testid=sign-pin]", "000000")
        s.click(s.find("[data-testid=sign-confirm]"))
        err = s.find("[data-testid=sign-pin-error]", timeout=30)
        assert "token.pin_incorrect" in s.text(err), s.text(err)
        s.screenshot("token-pin-wrong-zh-CN")
        set_value(s, "[data-testid=sign-pin]", PIN)
        s.script("document.querySelector('[data-testid=sign-confirm]').scrollIntoView({block: 'end'});")
        s.click(s.find("[data-testid=sign-confirm]"))
        print("e2e-token: case step signed on the token", wait_committed(s))
        s.find("[data-testid=stage-1][data-state=done]", timeout=60)
    except Exception:
        s.screenshot("token-failed")
        print(s.script("return document.querySelector('main').innerText.slice(0, 800);"))
        raise
    finally:
        s.close()


if __name__ == "__main__":
    main()
