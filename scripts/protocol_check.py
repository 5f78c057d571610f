#!/usr/bin/env python3
"""Independent checker for the govchain protocol's worked examples.

This script is written from PROTOCOL.md alone (no access to the reference
implementation). It extracts the generated worked examples of §10 and
re-derives every value that the specification allows to be derived, with its
own implementations of:

  * strict JSON parsing (§2.1, a hand-written single-pass parser) and
    RFC 8785 canonical JSON with the govchain number profile (§2.2),
  * the shapes of envelopes, bodies, headers and wire proofs (§2.1, §5, §6, §7),
  * Edwards25519 arithmetic, ZIP-215 signature validity (§3.2), batch
    verification, and the registrable-key rule (§3.3),
  * RFC 6962 Merkle tree hashing and the RFC 9162 §2.1.3.2 / §2.1.4.2 proof
    verification algorithms (§6),
  * the block header and chain verification rules (§7.3),
  * C2SP signed notes, vkeys, checkpoints and cosignature/v1 (§8),
  * the key file format, against its example (§16.1),
  * identity hashes (§12.9): normalisation with Python's unicodedata NFKC
    after the spec's character check, the GB 11643 check character, and
    HMAC-SHA256 (the hmac module, and RFC 2104 written out), against the
    identity-hash example,
  * the payroll root of committed payrolls (§12.5): RFC 6962 over
    "govchain/v1/payroll" ‖ 0x00 ‖ JCS(line) leaves, against the
    payroll-root example.
  * the state tree (compact sparse Merkle tree over SHA-256 key hashes,
    0x10 leaf / 0x11 node prefixes, ZERO for an empty subtree) and its
    presence/absence proofs, against docs/examples/state-tree.json. This
    check is self-contained on that file: it re-derives the example from the
    construction stated in the section's comments, not from PROTOCOL.md.

The PyPI package `cryptography` (OpenSSL) is used only as a second opinion:
RFC 8032 key derivation, deterministic re-signing of the examples, and a
cofactorless cross-check of the honest signatures. Every protocol verdict
(ZIP-215 validity, registrability) comes from the pure-Python code below.

Where PROTOCOL.md leaves a choice open, the choice made here is marked with
"INTERPRETATION" in a comment.

Usage:  python3 scripts/protocol_check.py [PATH/TO/PROTOCOL.md]
        (default: the PROTOCOL.md next to this script's directory, so the
        script can be run from any working directory)

Prints one line per check (`ok  <name>` or `FAIL <name>: <reason>`), then
`N passed, M failed`. Exit status: 0 if every check passed, 1 if any failed,
2 if the checks could not run (missing `cryptography`, unreadable file).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import math
import random
import re
import secrets
import struct
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
except ImportError as _e:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        "protocol_check.py: the Python package 'cryptography' is required "
        f"but could not be imported ({_e}).\n"
        "Install it with:  pip install cryptography\n"
        "(or run `make setup`, which creates .venv from scripts/requirements.txt)\n")
    sys.exit(2)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class ProtocolError(ValueError):
    """A rejection carrying a §9 error code in `.code`. Codes starting with
    `unspecified.` mark rejections for which PROTOCOL.md names no code."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


# ---------------------------------------------------------------------------
# §1 / §2.3 value formats
# ---------------------------------------------------------------------------

# All patterns are used with fullmatch (ASCII classes only, no "$" newline slack).
HEX_RE = re.compile(r"(?:[0-9a-f]{2})*")  # lowercase only (§1)
CHAIN_ID_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{0,63}")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
KIND_RE = re.compile(r"[a-z_]+(\.[a-z_]+)*")
MAX_SAFE = 2**53 - 1


def unhex(s: str, nbytes: int | None = None, code: str = "crypto.encoding") -> bytes:
    """Decode protocol hex: lowercase, no prefix, optionally an exact length."""
    if not isinstance(s, str) or not HEX_RE.fullmatch(s):
        raise ProtocolError(code, f"not lowercase hex: {str(s)[:20]}...")
    b = bytes.fromhex(s)
    if nbytes is not None and len(b) != nbytes:
        raise ProtocolError(code, f"expected {nbytes} bytes, got {len(b)}")
    return b


def b64decode_strict(s: str) -> bytes:
    """RFC 4648 §4 base64 with padding; rejects non-alphabet and non-canonical
    input (INTERPRETATION: "standard base64" is read as canonical base64,
    i.e. unused bits zero, as Go's StdEncoding.Strict does)."""
    b = base64.b64decode(s, validate=True)
    if base64.b64encode(b).decode() != s:
        raise ValueError("non-canonical base64")
    return b


def check_time(s) -> None:
    """§2.3 time: exactly YYYY-MM-DDTHH:MM:SS.sssZ, and a real UTC instant."""
    if not isinstance(s, str) or not TIME_RE.fullmatch(s):
        raise ProtocolError("type.timestamp", repr(s))
    try:
        datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")  # validates ranges
    except ValueError:
        raise ProtocolError("type.timestamp", repr(s)) from None


def check_chain_id(s) -> None:
    if not isinstance(s, str) or not CHAIN_ID_RE.fullmatch(s):
        raise ProtocolError("type.chain_id", repr(s))


def check_uint(v, code: str, what: str) -> None:
    """An integer-typed member (§2.1 last paragraph): an integer token with a
    value in 0..2^53-1. `parse_strict` returns a Python int only for integer
    tokens (no fraction, no exponent), so `7.0` and `7e0` arrive as floats
    and are rejected here."""
    if type(v) is not int:
        raise ProtocolError(code, f"{what} is not an integer token: {v!r}")
    if not 0 <= v <= MAX_SAFE:
        raise ProtocolError(code, f"{what} is not in 0..2^53-1: {v!r}")


# ---------------------------------------------------------------------------
# §2.1 strict JSON parsing
# ---------------------------------------------------------------------------

MAX_DEPTH = 64  # §2.1 rule 4: the outermost array or object is depth 1

_WS_RE = re.compile(r"[ \t\n\r]*")  # RFC 8259 insignificant whitespace
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_STRING_CHUNK_RE = re.compile(r'[^"\\\x00-\x1f]+')  # unescaped string characters
_HEX4_RE = re.compile(r"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f",
                   "n": "\n", "r": "\r", "t": "\t"}


class _StrictParser:
    """Single-pass recursive-descent parser for §2.1.

    Errors are reported in document order: the first rule broken while reading
    from left to right gives the code (INTERPRETATION: PROTOCOL.md does not say
    which code wins when a document breaks several rules). Recursion is bounded
    by the depth rule, so arbitrarily deep input cannot exhaust the stack.

    Numbers (rule 3): every number token is converted to the nearest double
    (Python's float() is correctly rounded, ties to even) and rejected if its
    magnitude exceeds 2^53-1. Accepted integer tokens become Python ints
    (exact, since they are <= 2^53-1); other tokens become the double, so
    `9007199254740991.4` is read as the double 2^53-1. With profile=False the
    number rule is plain I-JSON (any finite double; used only to self-test
    RFC 8785 on its own published example)."""

    def __init__(self, text: str, profile: bool):
        self.s, self.i, self.profile = text, 0, profile

    def fail(self, code: str, what: str):
        raise ProtocolError(code, f"{what} at offset {self.i}")

    def ws(self) -> None:
        self.i = _WS_RE.match(self.s, self.i).end()

    def document(self):
        self.ws()
        v = self.value(0)
        self.ws()
        if self.i != len(self.s):
            self.fail("jcs.syntax", "data after the value")
        return v

    def value(self, depth: int):
        s, i = self.s, self.i
        c = s[i:i + 1]
        if c == "{":
            return self.obj(depth + 1)
        if c == "[":
            return self.arr(depth + 1)
        if c == '"':
            return self.string()
        for lit, v in (("true", True), ("false", False), ("null", None)):
            if s.startswith(lit, i):
                self.i += len(lit)
                return v
        m = _NUMBER_RE.match(s, i)
        if m:
            return self.number(m)
        self.fail("jcs.syntax", "expected a JSON value")

    def obj(self, depth: int) -> dict:
        if depth > MAX_DEPTH:
            self.fail("jcs.too_deep", f"object at depth {depth}")
        self.i += 1
        out: dict = {}
        self.ws()
        if self.s.startswith("}", self.i):
            self.i += 1
            return out
        while True:
            if not self.s.startswith('"', self.i):
                self.fail("jcs.syntax", "expected a member name")
            name = self.string()
            # rule 2: names are compared after unescaping ("a" == "\u0061")
            if name in out:
                self.fail("jcs.duplicate_key", repr(name))
            self.ws()
            if not self.s.startswith(":", self.i):
                self.fail("jcs.syntax", "expected ':'")
            self.i += 1
            self.ws()
            out[name] = self.value(depth)
            self.ws()
            if self.s.startswith(",", self.i):
                self.i += 1
                self.ws()
            elif self.s.startswith("}", self.i):
                self.i += 1
                return out
            else:
                self.fail("jcs.syntax", "expected ',' or '}'")

    def arr(self, depth: int) -> list:
        if depth > MAX_DEPTH:
            self.fail("jcs.too_deep", f"array at depth {depth}")
        self.i += 1
        out: list = []
        self.ws()
        if self.s.startswith("]", self.i):
            self.i += 1
            return out
        while True:
            out.append(self.value(depth))
            self.ws()
            if self.s.startswith(",", self.i):
                self.i += 1
                self.ws()
            elif self.s.startswith("]", self.i):
                self.i += 1
                return out
            else:
                self.fail("jcs.syntax", "expected ',' or ']'")

    def string(self) -> str:
        s = self.s
        start = self.i
        self.i += 1  # opening quote
        parts = []
        while True:
            m = _STRING_CHUNK_RE.match(s, self.i)
            if m:
                parts.append(m.group())
                self.i = m.end()
            c = s[self.i:self.i + 1]
            if c == '"':
                self.i += 1
                break
            if c == "\\":
                e = s[self.i + 1:self.i + 2]
                if e in _SIMPLE_ESCAPES:
                    parts.append(_SIMPLE_ESCAPES[e])
                    self.i += 2
                elif e == "u" and _HEX4_RE.fullmatch(s, self.i + 2, self.i + 6):
                    parts.append(chr(int(s[self.i + 2:self.i + 6], 16)))
                    self.i += 6
                else:
                    self.fail("jcs.syntax", "invalid escape")
            elif c == "":
                self.fail("jcs.syntax", "unterminated string")
            else:
                self.fail("jcs.syntax", "unescaped control character in string")
        raw = "".join(parts)
        # rule 5: combine \uD83D\uDE00-style pairs; any surrogate left over is
        # unpaired. (The input itself holds no surrogates: see parse_strict.)
        try:
            return raw.encode("utf-16-be", "surrogatepass").decode("utf-16-be")
        except UnicodeDecodeError:
            self.i = start
            self.fail("jcs.syntax", "unpaired surrogate in string")

    def number(self, m: re.Match):
        tok = m.group()
        is_integer_token = m.group(1) is None and m.group(2) is None
        as_double = float(tok)  # nearest double, ties to even; inf if beyond range
        if self.profile:
            if not abs(as_double) <= MAX_SAFE:
                self.fail("jcs.integer_out_of_range", tok[:40])
            self.i = m.end()
            return int(tok) if is_integer_token else as_double
        if not math.isfinite(as_double):
            self.fail("jcs.syntax", f"number beyond the double range: {tok[:40]}")
        self.i = m.end()
        if is_integer_token and abs(as_double) <= MAX_SAFE:
            return int(tok)
        return as_double


def parse_strict(text: str | bytes, profile: bool = True):
    """Parse one JSON document under the rules of §2.1 (codes `jcs.*`).
    Bytes must be UTF-8 (I-JSON); a byte order mark is not JSON whitespace and
    is rejected (INTERPRETATION: RFC 8259 §8.1 lets parsers ignore a BOM)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError("jcs.syntax", f"not UTF-8: {e}") from None
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ProtocolError("jcs.syntax", "surrogate code point in the input text")
    return _StrictParser(text, profile).document()


# ---------------------------------------------------------------------------
# §2.2 RFC 8785 canonicalization
# ---------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t",
            "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _jcs_string(s: str) -> str:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        raise ProtocolError("jcs.syntax", "unpaired surrogate cannot be canonicalized")
    out = ['"']
    for c in s:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04x}")  # lowercase hex (ECMAScript)
        else:
            out.append(c)  # everything else literally, UTF-8 on output
    out.append('"')
    return "".join(out)


def es_number_to_string(x: float) -> str:
    """ECMAScript Number.prototype.toString(x) for finite x (ECMA-262
    Number::toString), using Python's shortest round-trip digits."""
    if not math.isfinite(x):
        raise ValueError("NaN/Infinity cannot be canonicalized")
    if x == 0:
        return "0"  # also -0
    if x < 0:
        return "-" + es_number_to_string(-x)
    # repr gives the shortest digit string that round-trips: d.ddddde±XX or plain
    mant, _, exp = repr(x).partition("e")
    int_part, _, frac_part = mant.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the start of `digits`
    n = len(int_part.lstrip("0")) if int_part.strip("0") else \
        -(len(frac_part) - len(frac_part.lstrip("0")))
    n += int(exp) if exp else 0
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{head}e{sign}{abs(e)}"


def jcs(v, profile: bool = True) -> bytes:
    """RFC 8785 canonical form, UTF-8 encoded. With profile=True (govchain,
    §2.2) a number of magnitude above 2^53-1 is an error, never rounded."""
    return _jcs(v, profile).encode("utf-8")


def _jcs(v, profile: bool) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        if profile and not abs(v) <= MAX_SAFE:  # govchain profile (§2.2); also NaN
            raise ProtocolError("jcs.integer_out_of_range",
                                f"number cannot be canonicalized: {v}")
        if isinstance(v, int):
            if abs(v) > MAX_SAFE:  # RFC 8785 numbers are doubles: never round an int here
                raise ValueError("integer outside ±(2^53-1) cannot be canonicalized")
            return str(v)
        return es_number_to_string(v)
    if isinstance(v, str):
        return _jcs_string(v)
    if isinstance(v, list):
        return "[" + ",".join(_jcs(x, profile) for x in v) + "]"
    if isinstance(v, dict):
        # sort by UTF-16 code units: big-endian UTF-16 bytes compare the same way
        keys = sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_jcs_string(k) + ":" + _jcs(v[k], profile) for k in keys) + "}"
    raise TypeError(f"not a JSON value: {type(v)}")


# ---------------------------------------------------------------------------
# §3 Edwards25519 arithmetic, ZIP-215, registrable keys
# ---------------------------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)  # extended coordinates (X:Y:Z:T), x=X/Z, y=Y/Z, xy=T/Z


def pt_add(p1, p2):
    """RFC 8032 §5.1.4 addition (complete for edwards25519, also doubles)."""
    X1, Y1, Z1, T1 = p1
    X2, Y2, Z2, T2 = p2
    a = (Y1 - X1) * (Y2 - X2) % P
    b = (Y1 + X1) * (Y2 + X2) % P
    c = T1 * 2 * D * T2 % P
    d = Z1 * 2 * Z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def pt_neg(p1):
    X, Y, Z, T = p1
    return (-X % P, Y, Z, -T % P)


def pt_mul(k: int, p1):
    acc = IDENTITY
    while k:
        if k & 1:
            acc = pt_add(acc, p1)
        p1 = pt_add(p1, p1)
        k >>= 1
    return acc


def pt_eq(p1, p2) -> bool:
    X1, Y1, Z1, _ = p1
    X2, Y2, Z2, _ = p2
    return (X1 * Z2 - X2 * Z1) % P == 0 and (Y1 * Z2 - Y2 * Z1) % P == 0


def pt_encode(p1) -> bytes:
    """The canonical RFC 8032 encoding: y < p, sign bit = x mod 2."""
    X, Y, Z, _ = p1
    zi = pow(Z, P - 2, P)
    x, y = X * zi % P, Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _recover_x(y: int):
    """The x with x^2 = (y^2-1)/(d y^2+1), or None if there is none."""
    u = (y * y - 1) % P
    w = (D * y * y + 1) % P  # never 0: -1/d is not a square
    x2 = u * pow(w, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return x


def pt_decode_zip215(b: bytes):
    """§3.2 rule 2 (ZIP-215) decoding: a y-coordinate >= p is reduced mod p,
    and an encoding whose x is 0 with the sign bit set decodes to that point
    (x stays 0). Returns None only if no curve point has that y."""
    if len(b) != 32:
        return None
    v = int.from_bytes(b, "little")
    sign = v >> 255
    y = (v & (2**255 - 1)) % P
    x = _recover_x(y)
    if x is None:
        return None
    if (x & 1) != sign:
        x = -x % P  # for x = 0 this is still 0: accepted with either sign bit
    return (x, y, 1, x * y % P)


def pt_decode_rfc8032(b: bytes):
    """RFC 8032 §5.1.3 strict decoding (rejects y >= p, and x = 0 with the sign
    bit set). Used only to confirm the §3.2 claim "RFC 8032 would reject both"."""
    if len(b) != 32:
        return None
    v = int.from_bytes(b, "little")
    sign, y = v >> 255, v & (2**255 - 1)
    if y >= P:
        return None
    x = _recover_x(y)
    if x is None or (x == 0 and sign == 1):
        return None
    if (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P)


B = pt_decode_zip215(bytes.fromhex("58" + "66" * 31))  # base point, y = 4/5


def zip215_prepare(pub: bytes, msg: bytes, sig: bytes):
    """Rules 1-2 of §3.2; returns (A, R, S, k) or None."""
    if len(pub) != 32 or len(sig) != 64:
        return None
    S = int.from_bytes(sig[32:], "little")
    if S >= L:  # rule 1: canonical S
        return None
    A, R = pt_decode_zip215(pub), pt_decode_zip215(sig[:32])
    if A is None or R is None:  # rule 2
        return None
    # rule 3: k over R and A exactly as received (not re-encoded)
    k = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % L
    return A, R, S, k


def verify_zip215(pub: bytes, msg: bytes, sig: bytes) -> bool:
    """§3.2: [8][S]B = [8]R + [8][k]A, with S < L and permissive decoding."""
    prep = zip215_prepare(pub, msg, sig)
    if prep is None:
        return False
    A, R, S, k = prep
    diff = pt_add(pt_mul(S, B), pt_neg(pt_add(R, pt_mul(k, A))))
    return pt_eq(pt_mul(8, diff), IDENTITY)


def verify_batch_zip215(items) -> bool:
    """Random linear combination of the cofactored equations (§3.2):
    [8]( [sum z_i S_i]B - sum [z_i]R_i - sum [z_i k_i]A_i ) = identity."""
    acc_s, acc = 0, IDENTITY
    for pub, msg, sig in items:
        prep = zip215_prepare(pub, msg, sig)
        if prep is None:
            return False
        A, R, S, k = prep
        z = secrets.randbits(128) | 1
        acc_s = (acc_s + z * S) % L
        acc = pt_add(acc, pt_add(pt_mul(z, R), pt_mul(z * k % L, A)))
    return pt_eq(pt_mul(8, pt_add(pt_mul(acc_s, B), pt_neg(acc))), IDENTITY)


def registrable(pub: bytes) -> str | None:
    """§3.3: None if registrable, else the code (one for every rule,
    identity.weak_key) and the failing rule. §3.3 says rule 1 "uses the
    permissive decoding of §3.2" (ZIP-215), so a non-canonical encoding
    decodes and fails rule 2, not rule 1."""
    A = pt_decode_zip215(pub)
    if A is None:
        return "identity.weak_key (rule 1: not a curve point)"
    if pt_encode(A) != pub:
        return "identity.weak_key (rule 2: non-canonical encoding)"
    if pt_eq(pt_mul(8, A), IDENTITY):
        return "identity.weak_key (rule 3: small order)"
    if not pt_eq(pt_mul(L, A), IDENTITY):
        return "identity.weak_key (rule 4: not torsion-free)"
    return None


def pubkey_from_seed_pure(seed: bytes) -> bytes:
    """RFC 8032 §5.1.5 key generation, pure Python."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return pt_encode(pt_mul(a, B))


def sign_rfc8032(seed: bytes, msg: bytes) -> bytes:
    """Deterministic RFC 8032 signature via `cryptography` (second opinion)."""
    return Ed25519PrivateKey.from_private_bytes(seed).sign(msg)


def verify_rfc8032_lib(pub: bytes, msg: bytes, sig: bytes) -> bool:
    """OpenSSL's (cofactorless, strict) verifier; used only for honest data."""
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


def key_id(pub: bytes) -> bytes:
    return sha256(pub)  # §3.4


def fingerprint(kid: bytes) -> str:
    h = kid[:16].hex()
    return " ".join(h[i:i + 4] for i in range(0, 32, 4))


def tagged(tag: str, body_jcs: bytes) -> bytes:
    """§4: signed_message = tag || 0x00 || JCS(body)."""
    assert b"\x00" not in tag.encode()
    return tag.encode("ascii") + b"\x00" + body_jcs


# ---------------------------------------------------------------------------
# §6 Merkle log (RFC 6962 / RFC 9162)
# ---------------------------------------------------------------------------

def leaf_hash(d: bytes) -> bytes:
    return sha256(b"\x00" + d)


def node_hash(l: bytes, r: bytes) -> bytes:
    return sha256(b"\x01" + l + r)


def mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)  # largest power of two < n
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


class Frontier:
    """§7.3 log frontier: roots of the perfect subtrees on the right edge,
    largest first, one per set bit of the size."""

    def __init__(self, size: int = 0, nodes: list[bytes] | None = None):
        self.size = size
        self.nodes: list[bytes] = list(nodes or [])

    def copy(self) -> "Frontier":
        return Frontier(self.size, self.nodes)

    def append(self, leaf: bytes) -> None:
        h = leaf_hash(leaf)
        # merge equal-height subtrees: one merge per trailing 1 bit of the old size
        s = self.size
        while s & 1:
            h = node_hash(self.nodes.pop(), h)
            s >>= 1
        self.nodes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return sha256(b"")
        r = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            r = node_hash(left, r)
        return r


# ---------------------------------------------------------------------------
# §12.9 Identity hashes, §12.5 payroll root
# ---------------------------------------------------------------------------

IDENTITY_TAG = b"govchain/v1/identity"
PAYROLL_PREFIX = b"govchain/v1/payroll\x00"
CN_RID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_char_allowed(ch: str) -> bool:
    """§12.9 step 1: printable ASCII, full-width forms, ideographic space."""
    u = ord(ch)
    return 0x20 <= u <= 0x7E or 0xFF01 <= u <= 0xFF5E or u == 0x3000


def cn_rid_check(first17: str) -> str:
    c = (12 - sum(int(a) * w for a, w in zip(first17, CN_RID_WEIGHTS)) % 11) % 11
    return "X" if c == 10 else str(c)


def normalise_id(doc_type: str, text: str) -> str:
    """§12.9 steps 1-4, written with NFKC (as the spec allows) rather than the
    reference implementation's table."""
    bad = next((ch for ch in text if not id_char_allowed(ch)), None)
    if bad is not None:
        raise ProtocolError("identity.bad_id_number", f"character U+{ord(bad):04X}")
    n = unicodedata.normalize("NFKC", text).replace(" ", "").replace("-", "").upper()
    if doc_type == "cn-rid":
        if not re.fullmatch(r"[0-9]{17}[0-9X]", n):
            raise ProtocolError("identity.bad_id_number", "form")
        if cn_rid_check(n[:17]) != n[17]:
            raise ProtocolError("identity.bad_id_number", "check character")
    elif doc_type == "passport":
        if not re.fullmatch(r"[A-Z]{1,3}:[A-Z0-9]{1,20}", n):
            raise ProtocolError("identity.bad_id_number", "form")
    else:
        raise ProtocolError("identity.unknown_document_type", doc_type)
    return n


def identity_message(doc_type: str, normalised: str) -> bytes:
    return IDENTITY_TAG + b"\x00" + doc_type.encode("ascii") + b"\x00" + normalised.encode("ascii")


def identity_hash(key: bytes, doc_type: str, text: str) -> bytes:
    return hmac.new(key, identity_message(doc_type, normalise_id(doc_type, text)), hashlib.sha256).digest()


def payroll_leaf_data(line: dict) -> bytes:
    return PAYROLL_PREFIX + jcs(line)


def payroll_root(lines: list[dict]) -> bytes:
    return mth([payroll_leaf_data(l) for l in lines])


def verify_inclusion(leaf_index: int, tree_size: int, lhash: bytes,
                     path: list[bytes], root: bytes) -> str | None:
    """RFC 9162 §2.1.3.2 plus the govchain rules of §6. None = valid, else
    the error code. INTERPRETATION (order unspecified): malformed hash, then
    index, then length, then root."""
    if any(len(h) != 32 for h in [lhash, root, *path]):
        return "proof.malformed_hash"
    if leaf_index >= tree_size:  # step 1
        return "proof.index_out_of_range"
    fn, sn = leaf_index, tree_size - 1  # step 2
    r = lhash  # step 3
    for p in path:  # step 4
        if sn == 0:  # 4a
            return "proof.wrong_length"  # path too long
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    if sn != 0:  # step 5
        return "proof.wrong_length"  # path too short
    if r != root:
        return "proof.root_mismatch"
    return None


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes,
                       path: list[bytes]) -> str | None:
    """RFC 9162 §2.1.4.2 plus the govchain rules of §6. None = valid."""
    if any(len(h) != 32 for h in [root1, root2, *path]):
        return "proof.malformed_hash"
    if size1 > size2:
        return "proof.sizes_reversed"
    if size1 == 0:
        return "proof.empty_tree"
    if size1 == size2:
        if path:
            return "proof.wrong_length"
        return None if root1 == root2 else "proof.root_mismatch"
    if not path:  # step 1
        return "proof.wrong_length"
    path = list(path)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            return "proof.wrong_length"  # path too long
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    if sn != 0:  # step 7
        return "proof.wrong_length"  # path too short
    if fr != root1 or sr != root2:
        return "proof.root_mismatch"
    return None


def gen_path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) (a generator, for cross-checks)."""
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return gen_path(m, d[:k]) + [mth(d[k:])]
    return gen_path(m - k, d[k:]) + [mth(d[:k])]


def gen_proof(m: int, d: list[bytes], b: bool = True) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b); PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return gen_proof(m, d[:k], b) + [mth(d[k:])]
    return gen_proof(m - k, d[k:], False) + [mth(d[:k])]


# ---------------------------------------------------------------------------
# Shapes: §5 envelopes and bodies, §6 wire proofs, §7 headers and blocks
# ---------------------------------------------------------------------------

BODY_MEMBERS = {"chain_id", "signer", "seq", "kind", "payload", "created_at"}
HEADER_MEMBERS = {"chain_id", "height", "prev_hash", "time", "proposer",
                  "tx_count", "tx_root", "log_size", "log_root", "state_root"}
INCLUSION_MEMBERS = {"leaf_index", "tree_size", "path"}
CONSISTENCY_MEMBERS = {"size1", "size2", "path"}

# PROTOCOL.md §2.1 names no error code for a malformed header or proof object
# (only `tx.shape` for transactions); these placeholders say so in the output.
HEADER_SHAPE = "block.shape"  # §2.1
PROOF_SHAPE = "proof.shape"  # §2.1


def check_members(obj, members: set, code: str, what: str) -> None:
    """§2.1: protocol objects have exactly the listed members."""
    if not isinstance(obj, dict):
        raise ProtocolError(code, f"{what} is not an object")
    if set(obj) != members:
        raise ProtocolError(code, f"{what} members: missing {sorted(members - set(obj))}, "
                                  f"unknown {sorted(set(obj) - members)}")


def check_body_shape(body) -> None:
    """§5.1 member set and types (the payload is kind-specific and defined
    with the state machine, §12, so only its JSON type is checked).
    INTERPRETATION: a malformed signer (key id) is tx.shape, as §2.3 says for
    hashes inside transactions; a kind not matching the pattern is tx.kind."""
    check_members(body, BODY_MEMBERS, "tx.shape", "body")
    check_chain_id(body["chain_id"])
    unhex(body["signer"], 32, code="tx.shape")
    check_uint(body["seq"], "tx.shape", "seq")
    kind = body["kind"]
    if not (isinstance(kind, str) and len(kind) <= 64 and KIND_RE.fullmatch(kind)):
        raise ProtocolError("tx.kind", repr(kind))
    if not isinstance(body["payload"], dict):
        raise ProtocolError("tx.shape", "payload is not an object")
    check_time(body["created_at"])


def check_envelope_shape(env) -> None:
    """§5.2: {"body", "sig"} with a 128-hex-digit signature."""
    check_members(env, {"body", "sig"}, "tx.shape", "envelope")
    check_body_shape(env["body"])
    unhex(env["sig"], 64, code="tx.shape")


def check_header_shape(h) -> None:
    """§7.1 member set and types."""
    check_members(h, HEADER_MEMBERS, HEADER_SHAPE, "header")
    check_chain_id(h["chain_id"])
    for f in ("height", "tx_count", "log_size"):
        check_uint(h[f], HEADER_SHAPE, f)
    for f in ("prev_hash", "proposer", "tx_root", "log_root", "state_root"):
        unhex(h[f], 32)  # §2.3: crypto.encoding
    check_time(h["time"])


def _proof_path(path) -> list[bytes]:
    """Path elements are hashes; INTERPRETATION: a malformed one is
    proof.malformed_hash (§6) rather than crypto.encoding (§2.3)."""
    if not isinstance(path, list):
        raise ProtocolError(PROOF_SHAPE, "path is not an array")
    return [unhex(h, 32, code="proof.malformed_hash") for h in path]


def parse_inclusion_proof(obj) -> tuple[int, int, list[bytes]]:
    """§6 wire form {"leaf_index", "tree_size", "path"}."""
    check_members(obj, INCLUSION_MEMBERS, PROOF_SHAPE, "inclusion proof")
    check_uint(obj["leaf_index"], PROOF_SHAPE, "leaf_index")
    check_uint(obj["tree_size"], PROOF_SHAPE, "tree_size")
    return obj["leaf_index"], obj["tree_size"], _proof_path(obj["path"])


def parse_consistency_proof(obj) -> tuple[int, int, list[bytes]]:
    """§6 wire form {"size1", "size2", "path"}."""
    check_members(obj, CONSISTENCY_MEMBERS, PROOF_SHAPE, "consistency proof")
    check_uint(obj["size1"], PROOF_SHAPE, "size1")
    check_uint(obj["size2"], PROOF_SHAPE, "size2")
    return obj["size1"], obj["size2"], _proof_path(obj["path"])


class ChainVerifier:
    """§7.3, steps 1-8 (transaction rules and state_root are out of scope:
    the state machine is not yet specified, PROTOCOL.md §12). State is
    only updated when a block is accepted."""

    def __init__(self, chain_id: str, node_keys: dict[bytes, bytes]):
        self.chain_id = chain_id
        self.node_keys = node_keys  # key id -> public key
        self.height = 0
        self.last_hash = bytes(32)  # §7.1: prev_hash is 64 zeros at height 0
        self.last_time: str | None = None
        self.frontier = Frontier()

    def apply(self, block) -> str | None:
        """None if the block is accepted, else the first failing code."""
        try:
            check_members(block, {"header", "sig", "txs"}, HEADER_SHAPE, "block")
            check_header_shape(block["header"])
            if not isinstance(block["txs"], list):
                raise ProtocolError(HEADER_SHAPE, "txs is not an array")
            sig = unhex(block["sig"], 64)
        except ProtocolError as e:
            return e.code
        h = block["header"]
        if h["chain_id"] != self.chain_id:  # 1
            return "block.wrong_chain"
        if h["height"] != self.height:  # 2
            return "block.height"
        if unhex(h["prev_hash"]) != self.last_hash:  # 3
            return "block.prev_hash"
        # 4: the fixed-width time strings order like the instants they denote
        if self.last_time is not None and h["time"] < self.last_time:
            return "block.time_backwards"
        if h["tx_count"] != len(block["txs"]):  # 5
            return "block.tx_count"
        leaves = [jcs(env) for env in block["txs"]]  # §5.3 leaf = JCS(envelope)
        if unhex(h["tx_root"]) != mth(leaves):  # 6
            return "block.tx_root"
        frontier = self.frontier.copy()  # 7
        for leaf in leaves:
            frontier.append(leaf)
        if h["log_size"] != frontier.size:
            return "block.log_size"
        if unhex(h["log_root"]) != frontier.root():
            return "block.log_root"
        pub = self.node_keys.get(unhex(h["proposer"]))  # 8
        if pub is None:
            return "block.unknown_proposer"
        msg = tagged(f"govchain/v2/block/{self.chain_id}", jcs(h))
        if not verify_zip215(pub, msg, sig):
            return "block.signature"
        self.height += 1
        self.last_hash = sha256(msg)  # block_hash
        self.last_time = h["time"]
        self.frontier = frontier
        return None


# ---------------------------------------------------------------------------
# §8 C2SP signed notes, checkpoints, cosignatures
# ---------------------------------------------------------------------------

EM_DASH = "\u2014"
MAX_NOTE_BYTES = 65536
MAX_SIGNATURE_LINES = 100


def note_key_id(name: str, typ: int, pub: bytes) -> bytes:
    """§8.2 / §8.4: SHA-256(name || 0x0A || type || public key)[:4]."""
    return sha256(name.encode() + b"\n" + bytes([typ]) + pub)[:4]


def check_key_name(name: str) -> None:
    """§8.1: non-empty, no whitespace, no '+'. INTERPRETATION: "whitespace"
    is Unicode whitespace (str.isspace); control characters never get here."""
    if not name or "+" in name or any(c.isspace() for c in name):
        raise ProtocolError("note.bad_key_name", repr(name))


def parse_vkey(vkey: str):
    """§8.2 `<name>+<hex key id>+base64(type || key)` -> (name, key_id, type, key).
    The name cannot contain '+', but the base64 part may: split twice only.
    INTERPRETATION: every malformed vkey (missing '+', bad name, bad hex or
    base64) is note.bad_vkey, not only the three conditions §8.2 lists."""
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise ProtocolError("note.bad_vkey", "expected name+keyid+key")
    name, kid_hex, b64 = parts
    try:
        check_key_name(name)
        kid = unhex(kid_hex, 4)
        raw = b64decode_strict(b64)
    except ValueError as e:
        raise ProtocolError("note.bad_vkey", str(e)) from None
    if len(raw) != 33:
        raise ProtocolError("note.bad_vkey", f"key material is {len(raw)} bytes, not 1 + 32")
    typ, key = raw[0], raw[1:]
    if typ not in (0x01, 0x04):
        raise ProtocolError("note.bad_vkey", f"type byte 0x{typ:02x}")
    if note_key_id(name, typ, key) != kid:
        raise ProtocolError("note.bad_vkey", "key id does not match name and key")
    return name, kid, typ, key


def parse_signature_line(line: str):
    """§8.1: "— " <key name> " " base64(key_id[4] || signature)."""
    if not line.startswith(EM_DASH + " "):
        raise ProtocolError("note.bad_signature_line", f"no em dash and space: {line[:30]!r}")
    name, sep, b64 = line[2:].partition(" ")
    if not sep:
        raise ProtocolError("note.bad_signature_line", f"no space after the key name: {line[:30]!r}")
    # INTERPRETATION: §8.1 lists "a valid key name" in the form of a signature
    # line and also gives invalid names their own code; the specific code wins.
    check_key_name(name)
    try:
        blob = b64decode_strict(b64)
    except ValueError:
        raise ProtocolError("note.bad_signature_line", f"not standard base64: {b64[:20]!r}") from None
    if len(blob) < 5:
        raise ProtocolError("note.bad_signature_line", "fewer than 5 bytes")
    return name, blob[:4], blob[4:]


def parse_note(note: bytes | str):
    """§8.1: returns (text, [(name, key_id, sig_bytes), ...]). The text keeps
    its final newline: it is exactly the signed message of §8.2."""
    raw = note.encode("utf-8") if isinstance(note, str) else note
    if len(raw) > MAX_NOTE_BYTES:
        raise ProtocolError("note.too_large", f"{len(raw)} bytes")
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("note.malformed", "not UTF-8") from None
    for ch in s:
        if (ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7F or ch == "\ufeff":
            raise ProtocolError("note.malformed", f"forbidden character U+{ord(ch):04X}")
    i = s.rfind("\n\n")  # the signature block follows the LAST blank line
    if i < 0:
        raise ProtocolError("note.malformed", "no blank line before the signatures")
    text, sigblock = s[: i + 1], s[i + 2:]
    if any(line == "" for line in text[:-1].split("\n")):
        raise ProtocolError("note.malformed", "empty text line")
    if not sigblock.endswith("\n"):
        raise ProtocolError("note.malformed", "missing signature line or final newline")
    lines = sigblock[:-1].split("\n")
    if len(lines) > MAX_SIGNATURE_LINES:
        raise ProtocolError("note.malformed", f"{len(lines)} signature lines")
    return text, [parse_signature_line(line) for line in lines]


def cosignature_message(text: str, timestamp: int) -> bytes:
    """§8.4: "cosignature/v1\\n" || "time <ts>\\n" || the whole note text."""
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def verify_note_sig(vk, text: str, sig: bytes):
    """Verify one signature line against a parsed vkey. Returns the cosignature
    timestamp for type 0x04, True for a valid 0x01 signature, False otherwise."""
    _name, _kid, typ, key = vk
    if typ == 0x01:  # §8.2: the signature is over the note text
        return len(sig) == 64 and verify_zip215(key, text.encode(), sig)
    if typ == 0x04:  # §8.4: timestamp[8] || signature
        if len(sig) != 72:
            return False
        ts = int.from_bytes(sig[:8], "big")
        if ts > 2**63 - 1:
            return False
        return ts if verify_zip215(key, cosignature_message(text, ts), sig[8:]) else False
    return False


def parse_checkpoint_body(text: str):
    """§8.3: (origin, size, root, [extension lines]). INTERPRETATION: the size
    is bounded only by "decimal, no leading zeros" (PROTOCOL.md gives no bound)."""
    lines = text.split("\n")
    if lines[-1] != "" or len(lines) < 4:
        raise ProtocolError("checkpoint.malformed", "fewer than three lines")
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not origin:
        raise ProtocolError("checkpoint.malformed", "empty origin")
    if not re.fullmatch(r"0|[1-9][0-9]*", size_s):
        raise ProtocolError("checkpoint.malformed", f"size {size_s!r}")
    try:
        root = b64decode_strict(root_b64)
    except ValueError:
        raise ProtocolError("checkpoint.malformed", "root is not base64") from None
    if len(root) != 32:
        raise ProtocolError("checkpoint.malformed", f"root is {len(root)} bytes")
    ext = lines[3:-1]
    state_line(ext)
    return origin, int(size_s), root, ext


def state_line(ext):
    """§8.3: the one `state <height> <base64 state root>` line among the
    extension lines, as (height, root), or None; a malformed or second one
    is checkpoint.malformed."""
    found = None
    for line in ext:
        if not line.startswith("state "):
            continue
        if found is not None:
            raise ProtocolError("checkpoint.malformed", "a second state line")
        parts = line.split(" ")
        if len(parts) != 3 or not re.fullmatch(r"0|[1-9][0-9]*", parts[1]) \
                or int(parts[1]) > 2**53 - 1:
            raise ProtocolError("checkpoint.malformed", f"state line {line!r}")
        try:
            root = b64decode_strict(parts[2])
        except ValueError:
            raise ProtocolError("checkpoint.malformed", "state root is not base64") from None
        if len(root) != 32:
            raise ProtocolError("checkpoint.malformed", f"state root is {len(root)} bytes")
        found = (int(parts[1]), root)
    return found


def verify_checkpoint(note, origin: str, log_vkey, witness_vkeys, quorum: int):
    """§8.5. Returns (None, (origin, size, root, extensions)) when accepted,
    else (error code, None). The log key must be a type 0x01 vkey and the
    witness keys type 0x04 vkeys (a configuration error otherwise)."""
    assert log_vkey[2] == 0x01 and all(vk[2] == 0x04 for vk in witness_vkeys)
    try:
        text, sigs = parse_note(note)
        body = parse_checkpoint_body(text)
    except ProtocolError as e:
        return e.code, None
    if body[0] != origin:
        return "checkpoint.wrong_origin", None
    log_ok, witnesses = False, set()
    for name, kid, sig in sigs:
        for vk in [log_vkey, *witness_vkeys]:
            if (vk[0], vk[1]) != (name, kid):
                continue  # §8.1: lines matching no known key are ignored
            if verify_note_sig(vk, text, sig) is False:
                return "note.invalid_signature", None
            if vk is log_vkey:
                log_ok = True
            else:
                witnesses.add((vk[0], vk[1]))  # distinct witnesses
    if not log_ok:
        return "checkpoint.missing_log_signature", None
    if len(witnesses) < quorum:
        return "checkpoint.quorum_not_met", None
    return None, body


# ---------------------------------------------------------------------------
# Extraction of the §10 examples
# ---------------------------------------------------------------------------

def extract_examples(doc: str) -> dict:
    """`<!-- example:NAME -->` markers; each example runs up to the next HTML
    comment. `raw` is the content of its fenced block (None for the table),
    `text` everything up to the next marker."""
    ex = {}
    for m in re.finditer(r"<!-- example:([a-z0-9-]+) -->\n(.*?)(?=\n<!-- )", doc, re.S):
        name, block = m.group(1), m.group(2)
        fence = re.match(r"```[a-z]*\n(.*?)\n```", block, re.S)
        ex[name] = {"raw": fence.group(1) if fence else None, "text": block}
    return ex


def parse_fields(raw: str) -> dict[str, str]:
    """§10: `field<spaces>value` lines; the value is the rest of the line."""
    out = {}
    for line in raw.split("\n"):
        m = re.fullmatch(r"(\S+) +(.*)", line)
        if not m:
            raise ValueError(f"bad example line: {line!r}")
        if m.group(1) in out:
            raise ValueError(f"duplicate field {m.group(1)}")
        out[m.group(1)] = m.group(2)
    return out


def parse_edge_table(text: str):
    """The ed25519-edges markdown table and the message its signatures cover."""
    rows = []
    for line in text.split("\n"):
        if not line.startswith("|"):
            continue
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if cells[0] in ("case", "---"):
            continue
        rows.append(dict(zip(["case", "pub", "sig", "protocol", "registrable", "dalek"], cells)))
    msg = re.search(r"over the message \(hex\) `([0-9a-f]+)`", text)
    return rows, bytes.fromhex(msg.group(1)) if msg else None


# ---------------------------------------------------------------------------
# Test harness
# ---------------------------------------------------------------------------

class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name: str, fn) -> None:
        """fn() returns None/True on success, a string or False on failure,
        or raises."""
        try:
            res = fn()
            ok, why = (res is None or res is True), (res if isinstance(res, str) else "check is false")
        except Exception as e:  # noqa: BLE001 - any error is a failed check
            ok, why = False, f"{type(e).__name__}: {e}"
        if ok:
            self.passed += 1
            print(f"ok  {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {why}")

    def eq(self, name: str, got, want) -> None:
        """`got` (a value or a thunk) must equal `want`."""
        def f():
            g = got() if callable(got) else got
            if g == want and type(g) is type(want):
                return None
            if isinstance(g, bytes) and isinstance(want, bytes):
                i = next((i for i, (a, b) in enumerate(zip(g, want)) if a != b), min(len(g), len(want)))
                return (f"{len(g)} vs {len(want)} bytes, first difference at byte {i}: "
                        f"got {_show(g[i:])}, want {_show(want[i:])}")
            return f"got {_show(g)} ({type(g).__name__}), want {_show(want)} ({type(want).__name__})"
        self.check(name, f)

    def code(self, name: str, fn, want: str) -> None:
        """fn() must reject with exactly the error code `want`: raise a
        ProtocolError with that code, or return that code as a string."""
        def f():
            try:
                res = fn()
            except ProtocolError as e:
                return None if e.code == want else f"got {e}, want {want}"
            except Exception as e:  # noqa: BLE001
                return f"got {type(e).__name__}: {e}, want {want}"
            if res == want:
                return None
            return f"got {_show(res)}, want {want}"
        self.check(name, f)

    def rejects(self, name: str, fn) -> None:
        """Negative self-check: the verifier must detect the tampering, i.e.
        fn() raises, returns False, or returns an error-code string. Any other
        result (True, None, a parsed value, a timestamp) means "accepted"."""
        def f():
            try:
                res = fn()
            except Exception:  # noqa: BLE001
                return None
            if res is False or (isinstance(res, str) and res):
                return None
            return f"tampered input was accepted ({_show(res)})"
        self.check(name, f)


def _show(v):
    if isinstance(v, bytes):
        v = v.hex()
    elif isinstance(v, list) and v and all(isinstance(i, bytes) for i in v):
        v = ",".join(i.hex() for i in v)
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


def flip(b: bytes, i: int = 0) -> bytes:
    """Flip the low bit of byte i (negative index allowed)."""
    a = bytearray(b)
    a[i] ^= 0x01
    return bytes(a)


def hashes(csv: str) -> list[bytes]:
    """A §10 comma-separated list of 32-byte hex hashes."""
    return [unhex(h, 32) for h in csv.split(",")]


# ---------------------------------------------------------------------------
# Self-tests of the primitives (independent of the §10 examples)
# ---------------------------------------------------------------------------

def self_tests(c: Checker) -> None:
    selftest_json(c)
    selftest_jcs(c)
    selftest_ed25519(c)
    selftest_merkle(c)
    selftest_notes(c)


def selftest_json(c: Checker) -> None:
    """§2.1, rule by rule, with the exact codes."""
    cases = [
        ("syntax: trailing data", "{} x", "jcs.syntax"),
        ("syntax: NaN", "NaN", "jcs.syntax"),
        ("syntax: trailing comma", "[1,]", "jcs.syntax"),
        ("syntax: leading zero", "01", "jcs.syntax"),
        ("syntax: raw control character in a string", '"a\x01"', "jcs.syntax"),
        ("syntax: byte order mark", b"\xef\xbb\xbf{}", "jcs.syntax"),
        ("syntax: invalid UTF-8", b'"\xff"', "jcs.syntax"),
        ("rule 2: duplicate key", '{"a":1,"a":2}', "jcs.duplicate_key"),
        ("rule 2: duplicate key after unescaping", '{"a":1,"\\u0061":2}', "jcs.duplicate_key"),
        ("rule 3: 9007199254740992", "9007199254740992", "jcs.integer_out_of_range"),
        ("rule 3: -9007199254740992", "-9007199254740992", "jcs.integer_out_of_range"),
        ("rule 3: 1e30", "1e30", "jcs.integer_out_of_range"),
        ("rule 3: 9.1e15", "9.1e15", "jcs.integer_out_of_range"),
        ("rule 3: 9007199254740992.0", "9007199254740992.0", "jcs.integer_out_of_range"),
        # exactly half-way between 2^53-1 and 2^53: ties-to-even gives 2^53
        ("rule 3: 9007199254740991.5 (tie rounds to even 2^53)", "9007199254740991.5",
         "jcs.integer_out_of_range"),
        ("rule 3: 1e400 (beyond the double range)", "1e400", "jcs.integer_out_of_range"),
        ("rule 3: 5000-digit integer", "1" + "0" * 5000, "jcs.integer_out_of_range"),
        ("rule 4: arrays at depth 65", "[" * 65 + "]" * 65, "jcs.too_deep"),
        ("rule 4: objects at depth 65", '{"a":' * 65 + "1" + "}" * 65, "jcs.too_deep"),
        ("rule 4: depth 100000 (no stack overflow)", "[" * 100000 + "]" * 100000, "jcs.too_deep"),
        ("rule 5: unpaired high surrogate", '"\\ud800"', "jcs.syntax"),
        ("rule 5: reversed surrogate pair", '"\\udc00\\ud800"', "jcs.syntax"),
        ("rule 5: unpaired surrogate in a key", '{"\\udfff":1}', "jcs.syntax"),
    ]
    for label, doc, code in cases:
        c.code(f"self/§2.1 rejects {label}", lambda d=doc: parse_strict(d), code)
    # accepted spellings
    c.eq("self/§2.1 rule 3: 9007199254740991.4 is read as the double 2^53-1",
         lambda: parse_strict("9007199254740991.4"), float(MAX_SAFE))
    c.eq("self/§2.1 rule 3: -9007199254740991.4 is read as -(2^53-1)",
         lambda: parse_strict("-9007199254740991.4"), -float(MAX_SAFE))
    c.eq("self/§2.1 rule 3: 9007199254740991.4 canonicalizes to 9007199254740991",
         lambda: jcs(parse_strict("9007199254740991.4")), b"9007199254740991")
    c.eq("self/§2.1 rule 3: integer tokens stay exact integers",
         lambda: parse_strict("[9007199254740991,-9007199254740991,-0]"), [MAX_SAFE, -MAX_SAFE, 0])
    c.eq("self/§2.1 rule 3: 1e-400 underflows to 0",
         lambda: jcs(parse_strict("1e-400")), b"0")
    c.check("self/§2.1 rule 4: arrays at depth 64 accepted",
            lambda: parse_strict("[" * 64 + "]" * 64) is not None)
    c.check("self/§2.1 rule 4: objects at depth 64 accepted",
            lambda: parse_strict('{"a":' * 63 + "{}" + "}" * 63) is not None)
    c.eq("self/§2.1 rule 5: escaped surrogate pair accepted",
         lambda: parse_strict('"\\ud83d\\ude00"'), "\U0001F600")
    c.eq("self/§2.1 escapes and whitespace",
         lambda: parse_strict(' \t\r\n{"a" : [ "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00E9" , true , null ] }\n'),
         {"a": ["\"\\/\b\f\n\r\t\u00e9", True, None]})
    # integer-typed members must be integer tokens (§2.1 last paragraph)
    body = '{"chain_id":"c","created_at":"2026-01-01T00:00:00.000Z","kind":"k","payload":{},' \
           '"seq":%s,"signer":"' + "ab" * 32 + '"}'
    c.check("self/§2.1 integer member as integer token accepted",
            lambda: check_body_shape(parse_strict(body % "7")))
    for spelling in ("7.0", "7e0", "70e-1", "7.4"):
        c.code(f"self/§2.1 integer member spelled {spelling} is tx.shape",
               lambda s=spelling: check_body_shape(parse_strict(body % s)), "tx.shape")
    c.eq("self/§2.1 ... although 7.0 and 7e0 canonicalize like 7",
         lambda: {jcs(parse_strict(body % s)) for s in ("7", "7.0", "7e0")},
         {jcs(parse_strict(body % "7"))})
    c.code("self/§2.1 seq -1 rejected", lambda: check_body_shape(parse_strict(body % "-1")), "tx.shape")
    c.code("self/§2.1 proof tree_size 5.0 rejected",
           lambda: parse_inclusion_proof(parse_strict('{"leaf_index":0,"tree_size":5.0,"path":[]}')),
           PROOF_SHAPE)


def selftest_jcs(c: Checker) -> None:
    """§2.2 and RFC 8785 against published values."""
    # RFC 8785 §3.2.2.3 / §3.2.3 sample, plain RFC 8785 numbers (not the profile)
    c.eq("self/jcs rfc8785 sample (plain RFC 8785 numbers)",
         lambda: jcs(parse_strict(
             '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
             ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
             ' "literals": [null, true, false]}', profile=False), profile=False),
         '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
         '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode())
    c.eq("self/jcs §2.2 examples under the profile (4.50, 2e-3, 1e-27, -0)",
         lambda: jcs(parse_strict("[4.50, 2e-3, 1e-27, -0, -0.0]")), b"[4.5,0.002,1e-27,0,0]")
    c.eq("self/jcs §2.2 plain RFC 8785: 1E30 -> 1e+30",
         lambda: jcs(parse_strict("1E30", profile=False), profile=False), b"1e+30")
    c.code("self/jcs §2.2 profile refuses 1E30 (parse)", lambda: parse_strict("1E30"),
           "jcs.integer_out_of_range")
    c.code("self/jcs §2.2 profile refuses 1e30 (canonicalize)", lambda: jcs(1e30),
           "jcs.integer_out_of_range")
    c.code("self/jcs §2.2 profile refuses 2^53 (canonicalize)", lambda: jcs(2**53),
           "jcs.integer_out_of_range")
    c.eq("self/jcs utf-16 key order",
         lambda: jcs(parse_strict(
             '{"\\u20ac":1,"\\r":2,"\\ufb33":3,"1":4,"\\ud83d\\ude00":5,"\\u0080":6,"\\u00f6":7}')),
         '{"\\r":2,"1":4,"\u0080":6,"ö":7,"€":1,"\U0001F600":5,"\ufb33":3}'.encode())
    c.eq("self/jcs numbers",
         lambda: [es_number_to_string(x) for x in
                  (-0.0, 1e21, 1e20, 123.456, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308, -1.5)],
         ["0", "1e+21", "100000000000000000000", "123.456", "0.000001", "1e-7",
          "5e-324", "1.7976931348623157e+308", "-1.5"])
    c.eq("self/jcs profile: in-range numbers however spelled",
         lambda: jcs(parse_strict("[9007199254740991.0, -9.007199254740991e15, 1E2, 0.5e-7, -0.0]")),
         b"[9007199254740991,-9007199254740991,100,5e-8,0]")

    def roundtrip():
        """§2.2: every accepted value canonicalizes, and the canonical form
        parses back to the same value (fixed cases plus random doubles)."""
        docs = ["[1e-7, 123.456, 4.5, 0.002, 9007199254740991, 33333333.333333329]",
                '{"b":[{}],"a":"\\u0007\\u001f\\u2028\\u007f \\ud83d\\ude00"}']
        rng = random.Random(215)
        for _ in range(3000):
            x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            if math.isfinite(x) and abs(x) <= MAX_SAFE:
                docs.append(repr(x))
            docs.append(repr(rng.uniform(-MAX_SAFE, MAX_SAFE)))
        for doc in docs:
            v = parse_strict(doc)
            canon = jcs(v)
            if parse_strict(canon) != v or jcs(parse_strict(canon)) != canon:
                return f"round trip failed for {doc}"
        return None
    c.check("self/jcs profile: canonical forms parse back (incl. 6000 random doubles)", roundtrip)


def selftest_ed25519(c: Checker) -> None:
    # RFC 8032 §7.1 TEST 1
    seed1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pub1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig1 = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                         "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    c.eq("self/ed25519 rfc8032 test 1 key", lambda: pubkey_from_seed_pure(seed1), pub1)
    c.check("self/ed25519 rfc8032 test 1 verifies", lambda: verify_zip215(pub1, b"", sig1))
    c.rejects("self/ed25519 rfc8032 test 1 tampered", lambda: verify_zip215(pub1, b"x", sig1))
    # §3.2 rule 2: x = 0 with the sign bit set (y = 1: identity; y = -1: order 2)
    for y, label in ((1, "y=1"), (P - 1, "y=-1")):
        enc = (y | 1 << 255).to_bytes(32, "little")
        c.check(f"self/§3.2 sign bit with x=0 ({label}) decodes (ZIP-215)",
                lambda e=enc, y=y: pt_eq(pt_decode_zip215(e), (0, y, 1, 0)))
        c.check(f"self/§3.2 sign bit with x=0 ({label}) rejected by RFC 8032 decoding",
                lambda e=enc: pt_decode_rfc8032(e) is None)
    c.check("self/§3.2 y >= p is reduced mod p (ZIP-215)",
            lambda: pt_eq(pt_decode_zip215((P + 1).to_bytes(32, "little")), IDENTITY))
    c.check("self/§3.3 a y with no curve point fails rule 1 (identity.weak_key)",
            lambda: (registrable((2).to_bytes(32, "little")) or "").startswith("identity.weak_key (rule 1"))


def selftest_merkle(c: Checker) -> None:
    """Frontier and MTH agree for many sizes; inclusion/consistency proofs
    generated by the RFC 9162 §2.1.3.1/§2.1.4.1 definitions verify."""
    def run():
        leaves = [bytes([i]) for i in range(33)]
        fr = Frontier()
        for n in range(1, len(leaves) + 1):
            fr.append(leaves[n - 1])
            if fr.root() != mth(leaves[:n]) or len(fr.nodes) != bin(n).count("1"):
                return f"frontier differs at size {n}"
            for m in range(n):
                err = verify_inclusion(m, n, leaf_hash(leaves[m]), gen_path(m, leaves[:n]), mth(leaves[:n]))
                if err:
                    return f"inclusion {m}/{n}: {err}"
            for m in range(1, n + 1):
                err = verify_consistency(m, n, mth(leaves[:m]), mth(leaves[:n]), gen_proof(m, leaves[:n]))
                if err:
                    return f"consistency {m}->{n}: {err}"
        return None
    c.check("self/merkle proofs sizes 1..33", run)


def selftest_notes(c: Checker) -> None:
    """§8.1 / §8.2 error codes on synthetic notes and vkeys."""
    seed = sha256(b"protocol_check self-test key")
    pub = pubkey_from_seed_pure(seed)
    name = "self.example"
    vk = (name, note_key_id(name, 0x01, pub), 0x01, pub)
    text = "origin.example/x\n1\n" + base64.b64encode(bytes(32)).decode() + "\n"
    line = f"{EM_DASH} {name} " + base64.b64encode(vk[1] + sign_rfc8032(seed, text.encode())).decode()
    good = text + "\n" + line + "\n"

    def synthetic_verifies():
        text_, sigs_ = parse_note(good)
        return sigs_[0][:2] == vk[:2] and verify_note_sig(vk, text_, sigs_[0][2]) is True
    c.check("self/§8.1 synthetic note parses and verifies", synthetic_verifies)
    cases = [
        ("DEL (U+007F) is a control character", text.replace("x", "x\x7f") + "\n" + line + "\n", "note.malformed"),
        ("tab", text.replace("x", "x\t") + "\n" + line + "\n", "note.malformed"),
        ("U+FEFF", "\ufeff" + good, "note.malformed"),
        ("invalid UTF-8", good.encode() + b"\xff", "note.malformed"),
        ("oversize", text + "\n" + (line + "\n") * 700, "note.too_large"),
        ("101 signature lines", text + "\n" + (line + "\n") * 101, "note.malformed"),
        ("no signature lines", text + "\n", "note.malformed"),
        ("no final newline", good[:-1], "note.malformed"),
        ("empty text line", "\n" + good, "note.malformed"),
        ("hyphen instead of em dash", good.replace(EM_DASH, "-"), "note.bad_signature_line"),
        ("no space after the dash", good.replace(EM_DASH + " ", EM_DASH), "note.bad_signature_line"),
        ("no space after the name", text + "\n" + f"{EM_DASH} {name}\n", "note.bad_signature_line"),
        ("two spaces after the name", good.replace(f"{name} ", f"{name}  "), "note.bad_signature_line"),
        ("4-byte signature blob", text + "\n" + f"{EM_DASH} {name} AAAAAA==\n", "note.bad_signature_line"),
        ("non-base64 signature", good.replace(line[-8:], "!!!!!!!!"), "note.bad_signature_line"),
        ("'+' in the key name", good.replace(f" {name} ", " a+b "), "note.bad_key_name"),
        ("NBSP in the key name", good.replace(f" {name} ", " a\u00a0b "), "note.bad_key_name"),
    ]
    for label, note, code in cases:
        c.code(f"self/§8.1 {label}: {code}", lambda n=note: parse_note(n), code)
    b64key = base64.b64encode(b"\x01" + pub).decode()
    good_vkey = f"{name}+{vk[1].hex()}+{b64key}"
    c.check("self/§8.2 synthetic vkey parses", lambda: parse_vkey(good_vkey) == vk)
    vkeys = [
        ("wrong key id", f"{name}+{flip(vk[1]).hex()}+{b64key}"),
        ("type byte 0x02", f"{name}+{note_key_id(name, 2, pub).hex()}+"
                           + base64.b64encode(b"\x02" + pub).decode()),
        ("31-byte key", f"{name}+{vk[1].hex()}+" + base64.b64encode(b"\x01" + pub[:31]).decode()),
        ("upper-case key id", f"{name}+{vk[1].hex().upper()}+{b64key}"),
        ("only one '+'", f"{name}+{b64key}"),
    ]
    for label, v in vkeys:
        c.code(f"self/§8.2 vkey with {label}: note.bad_vkey", lambda v=v: parse_vkey(v), "note.bad_vkey")


# ---------------------------------------------------------------------------
# The §10 examples
# ---------------------------------------------------------------------------

def check_examples(c: Checker, doc: str) -> None:
    """Run every section; a section that cannot even be parsed is reported
    as one failure and the later sections still run (they may then fail on
    the values they needed from it)."""
    x = SimpleNamespace(doc=doc)
    for name, section in [("extract", sec_extract), ("official-key", sec_official_key),
                          ("tx", sec_tx), ("block", sec_block), ("merkle", sec_merkle),
                          ("checkpoint", sec_checkpoint), ("signed-read", sec_signed_read),
                          ("ed25519-edges", sec_edges), ("key-file", sec_key_file),
                          ("identity-hash", sec_identity), ("payroll-root", sec_payroll),
                          ("state-tree", sec_state_tree), ("state", sec_genesis_state)]:
        try:
            section(c, x)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            c.check(f"{name}/section", lambda e=e: f"{type(e).__name__}: {e}")


def sec_extract(c: Checker, x) -> None:
    doc = x.doc
    x.ex = ex = extract_examples(doc)
    expected = ["official-key", "tx", "block", "merkle", "checkpoint-keys",
                "checkpoint-note", "signed-read", "ed25519-edges", "identity-hash", "payroll-root",
                "state"]
    c.eq("extract/examples present", lambda: sorted(ex), sorted(expected))
    x.labels = labels = dict(re.findall(r'(official|node|witness) `"([^"]+)"`', doc))
    c.eq("extract/key labels (§10)", lambda: sorted(labels), ["node", "official", "witness"])


def sec_official_key(c: Checker, x) -> None:
    """§3.4 and §10: the official's key material."""
    ex, labels = x.ex, x.labels
    x.ok = ok = parse_fields(ex["official-key"]["raw"])
    x.seed = seed = unhex(ok["seed"], 32)
    x.pub = pub = unhex(ok["public_key"], 32)
    c.eq("official-key/seed = SHA-256(label)", seed, sha256(labels["official"].encode()))
    c.eq("official-key/public key from seed (cryptography)",
         lambda: Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
             serialization.Encoding.Raw, serialization.PublicFormat.Raw), pub)
    c.eq("official-key/public key from seed (pure python)", lambda: pubkey_from_seed_pure(seed), pub)
    c.eq("official-key/key_id = SHA-256(public key)", lambda: unhex(ok["key_id"], 32), key_id(pub))
    c.eq("official-key/fingerprint", ok["fingerprint"], fingerprint(key_id(pub)))
    c.check("official-key/registrable", lambda: registrable(pub) or None)


def sec_key_file(c: Checker, x) -> None:
    """§16.1: the key file example is the §10 official's seed as a key file
    holds it: 64 lowercase hex digits (keygen adds one newline)."""
    m = re.search(r"Example \(the §10 official's seed[^\n]*\n\n    ([^\n]*)\n", x.doc)
    c.check("key-file/example present (§16.1)", lambda: None if m else "no key file example")
    if not m:
        return
    line = m.group(1)
    file_bytes = (line + "\n").encode()
    c.eq("key-file/65 bytes: 64 lowercase hex digits and a newline",
         lambda: (len(file_bytes), bool(re.fullmatch(r"[0-9a-f]{64}\n", line + "\n"))), (65, True))
    c.eq("key-file/holds the official's seed", lambda: bytes.fromhex(line.strip()), x.seed)


def sec_tx(c: Checker, x) -> None:
    """§4 and §5: the transaction, its id and its log leaf."""
    ex, ok, seed, pub = x.ex, x.ok, x.seed, x.pub
    x.tx = tx = parse_fields(ex["tx"]["raw"])
    body_jcs = tx["body_jcs"].encode("utf-8")
    body = parse_strict(body_jcs)
    x.chain_id = chain_id = body["chain_id"]
    x.tag = tag = f"govchain/v1/tx/{chain_id}"
    signed = tagged(tag, body_jcs)
    x.sig = sig = unhex(tx["sig"], 64)
    c.check("tx/body shape and types (§5.1)", lambda: check_body_shape(body))
    c.check("tx/seq >= 1 (§5.1: committable by a signer with no history)", lambda: body["seq"] >= 1)
    c.eq("tx/body_jcs is canonical (RFC 8785)", lambda: jcs(body), body_jcs)
    c.eq("tx/signer = official key id", body["signer"], ok["key_id"])
    c.eq("tx/domain tag", tx["domain_tag"], tag)
    c.eq("tx/signed_hex = tag || 0x00 || JCS(body)", lambda: unhex(tx["signed_hex"]), signed)
    c.check("tx/sig valid (ZIP-215, own implementation)", lambda: verify_zip215(pub, signed, sig))
    c.check("tx/sig valid (cryptography, RFC 8032)", lambda: verify_rfc8032_lib(pub, signed, sig))
    c.eq("tx/sig = deterministic RFC 8032 signature", lambda: sign_rfc8032(seed, signed), sig)
    c.eq("tx/tx_id = SHA-256(signed message)", lambda: unhex(tx["tx_id"], 32), sha256(signed))
    x.envelope = envelope = {"body": body, "sig": tx["sig"]}
    x.leaf = leaf = tx["leaf_jcs"].encode("utf-8")
    c.check("tx/envelope shape (§5.2)", lambda: check_envelope_shape(parse_strict(leaf)))
    c.eq("tx/leaf_jcs = JCS(envelope)", lambda: jcs(envelope), leaf)
    c.eq("tx/leaf_jcs parses to the envelope", lambda: parse_strict(leaf), envelope)
    c.check("tx/envelope size <= 65536", lambda: len(leaf) <= 65536)
    c.eq("tx/leaf_hash = SHA-256(0x00 || leaf)", lambda: unhex(tx["leaf_hash"], 32), leaf_hash(leaf))
    # negative self-checks
    c.rejects("tx/neg: flipped sig byte rejected", lambda: verify_zip215(pub, signed, flip(sig, 5)))
    c.rejects("tx/neg: flipped S byte rejected", lambda: verify_zip215(pub, signed, flip(sig, 40)))
    c.rejects("tx/neg: flipped message rejected", lambda: verify_zip215(pub, flip(signed, -3), sig))
    c.rejects("tx/neg: other chain's tag rejected",
              lambda: verify_zip215(pub, tagged("govchain/v1/tx/other", body_jcs), sig))
    c.rejects("tx/neg: flipped tx_id detected",
              lambda: flip(unhex(tx["tx_id"])) == sha256(signed))
    c.rejects("tx/neg: flipped leaf_hash detected",
              lambda: flip(unhex(tx["leaf_hash"]), 31) == leaf_hash(leaf))
    c.rejects("tx/neg: non-canonical body detected",
              lambda: jcs(body) == tx["body_jcs"].replace(",", ", ", 1).encode())
    c.code("tx/neg: seq written 7.0 is tx.shape",
           lambda: check_body_shape(parse_strict(tx["body_jcs"].replace('"seq":7', '"seq":7.0'))),
           "tx.shape")
    c.code("tx/neg: extra body member is tx.shape",
           lambda: check_body_shape({**body, "extra": 1}), "tx.shape")
    c.code("tx/neg: upper-case sig in the envelope is tx.shape",
           lambda: check_envelope_shape({**envelope, "sig": tx["sig"].upper()}), "tx.shape")


def sec_block(c: Checker, x) -> None:
    """§7: the genesis block holding the tx example, and §7.3 on a chain."""
    ex, labels, chain_id, tx, envelope, leaf, sig = x.ex, x.labels, x.chain_id, x.tx, x.envelope, x.leaf, x.sig
    bk = parse_fields(ex["block"]["raw"])
    x.node_pub = node_pub = unhex(bk["node_key"], 32)
    header_jcs = bk["header_jcs"].encode("utf-8")
    header = parse_strict(header_jcs)
    block_msg = tagged(f"govchain/v2/block/{header['chain_id']}", header_jcs)
    bsig = unhex(bk["sig"], 64)
    x.node_seed = node_seed = sha256(labels["node"].encode())
    c.check("block/header shape and types (§7.1)", lambda: check_header_shape(header))
    c.eq("block/header_jcs is canonical", lambda: jcs(header), header_jcs)
    c.eq("block/node_key from node label seed", lambda: pubkey_from_seed_pure(node_seed), node_pub)
    c.check("block/node_key registrable", lambda: registrable(node_pub) or None)
    c.eq("block/proposer = key id of node_key", header["proposer"], key_id(node_pub).hex())
    c.eq("block/chain_id = tx chain_id", header["chain_id"], chain_id)
    c.eq("block/height 0", header["height"], 0)
    c.eq("block/prev_hash zeros at height 0", header["prev_hash"], "0" * 64)
    c.eq("block/tx_count 1", header["tx_count"], 1)
    c.eq("block/tx_root = MTH([tx leaf])", lambda: unhex(header["tx_root"]), mth([leaf]))
    c.eq("block/log_size 1", header["log_size"], 1)
    c.eq("block/log_root = tx leaf hash", header["log_root"], tx["leaf_hash"])
    c.eq("block/block_hash = SHA-256(tag || 0x00 || header)",
         lambda: unhex(bk["block_hash"], 32), sha256(block_msg))
    c.check("block/sig valid (ZIP-215)", lambda: verify_zip215(node_pub, block_msg, bsig))
    c.check("block/sig valid (cryptography)", lambda: verify_rfc8032_lib(node_pub, block_msg, bsig))
    c.eq("block/sig = deterministic RFC 8032 signature", lambda: sign_rfc8032(node_seed, block_msg), bsig)
    block = {"header": header, "sig": bk["sig"], "txs": [envelope]}
    nodes = {key_id(node_pub): node_pub}
    c.check("block/chain verification §7.3 accepts genesis",
            lambda: ChainVerifier(chain_id, nodes).apply(block))
    c.rejects("block/neg: flipped sig rejected", lambda: verify_zip215(node_pub, block_msg, flip(bsig, 7)))
    c.rejects("block/neg: flipped block_hash detected",
              lambda: flip(unhex(bk["block_hash"]), 9) == sha256(block_msg))
    c.rejects("block/neg: sig over tx tag rejected",
              lambda: verify_zip215(node_pub, tagged(f"govchain/v1/tx/{chain_id}", header_jcs), bsig))
    c.code("block/neg: height written 0.0 rejected",
           lambda: check_header_shape(parse_strict(bk["header_jcs"].replace('"height":0', '"height":0.0'))),
           HEADER_SHAPE)

    def verify(*blocks):
        v = ChainVerifier(chain_id, nodes)
        for b in blocks:
            err = v.apply(b)
            if err:
                return err
        return None
    c.code("block/neg: §7.3 wrong chain", lambda: ChainVerifier("other", nodes).apply(block), "block.wrong_chain")
    c.code("block/neg: §7.3 unknown proposer", lambda: ChainVerifier(chain_id, {}).apply(block),
           "block.unknown_proposer")
    c.code("block/neg: §7.3 tampered tx", lambda: verify(
        {**block, "txs": [{**envelope, "sig": flip(sig, 3).hex()}]}), "block.tx_root")
    c.code("block/neg: §7.3 missing tx", lambda: verify({**block, "txs": []}), "block.tx_count")
    c.code("block/neg: §7.3 flipped sig", lambda: verify({**block, "sig": flip(bsig, 3).hex()}),
           "block.signature")

    # A second, empty block (tx_root = MTH({}) = SHA-256("")), signed here with
    # the node's public example seed, to exercise steps 2-4 and 7 on a chain.
    def seal(h: dict) -> dict:
        msg = tagged(f"govchain/v2/block/{chain_id}", jcs(h))
        return {"header": h, "sig": sign_rfc8032(node_seed, msg).hex(), "txs": []}
    h1 = {**header, "height": 1, "prev_hash": bk["block_hash"], "time": "2026-11-24T08:30:02.000Z",
          "tx_count": 0, "tx_root": sha256(b"").hex()}
    c.check("block/§7.3 genesis then an empty block", lambda: verify(block, seal(h1)))
    c.code("block/neg: §7.3 height skipped", lambda: verify(block, seal({**h1, "height": 2})), "block.height")
    c.code("block/neg: §7.3 wrong prev_hash",
           lambda: verify(block, seal({**h1, "prev_hash": flip(unhex(bk["block_hash"])).hex()})),
           "block.prev_hash")
    c.code("block/neg: §7.3 time backwards",
           lambda: verify(block, seal({**h1, "time": "2026-11-24T08:30:01.249Z"})), "block.time_backwards")
    c.check("block/§7.3 equal time is allowed",
            lambda: verify(block, seal({**h1, "time": header["time"]})))
    c.code("block/neg: §7.3 log_size", lambda: verify(block, seal({**h1, "log_size": 2})), "block.log_size")
    c.code("block/neg: §7.3 log_root",
           lambda: verify(block, seal({**h1, "log_root": sha256(b"").hex()})), "block.log_root")

    def rejected_block_leaves_state():
        v = ChainVerifier(chain_id, nodes)
        assert v.apply(block) is None
        assert v.apply(seal({**h1, "log_root": sha256(b"").hex()})) == "block.log_root"
        return v.apply(seal(h1))
    c.check("block/§7.3 a rejected block does not change the verifier's state",
            rejected_block_leaves_state)


def sec_merkle(c: Checker, x) -> None:
    """§6: a log of five leaves, roots at sizes 1, 3, 5, the inclusion path of
    leaf 3 in the tree of 5 and the consistency path from 3 to 5."""
    ex, tx, leaf = x.ex, x.tx, x.leaf
    mk = parse_fields(ex["merkle"]["raw"])
    expected_fields = {"leaf_1", "leaf_2", "leaf_3", "leaf_4", "root_1", "root_3", "root_5",
                       "incl_3_in_5", "cons_3_to_5"}
    c.eq("merkle/fields", set(mk), expected_fields)
    leaves = [leaf] + [unhex(mk[f"leaf_{i}"]) for i in range(1, 5)]
    for i in range(1, 5):
        c.eq(f"merkle/leaf_{i} = ASCII 'leaf {i}'", leaves[i], f"leaf {i}".encode())
    lh = [leaf_hash(d) for d in leaves]
    x.roots = roots = {n: unhex(mk[f"root_{n}"], 32) for n in (1, 3, 5)}
    for n in (1, 3, 5):
        c.eq(f"merkle/root_{n} = MTH(leaves[:{n}])", lambda n=n: mth(leaves[:n]), roots[n])
    c.eq("merkle/root_1 = tx leaf hash", mk["root_1"], tx["leaf_hash"])
    # the same roots written out by hand from the §6 definition of MTH
    c.eq("merkle/root_3 = node(node(h0,h1), h2)", lambda: node_hash(node_hash(lh[0], lh[1]), lh[2]), roots[3])
    c.eq("merkle/root_5 = node(node(node(h0,h1), node(h2,h3)), h4)",
         lambda: node_hash(node_hash(node_hash(lh[0], lh[1]), node_hash(lh[2], lh[3])), lh[4]), roots[5])

    def frontier_roots():
        fr, out = Frontier(), []
        for n, d in enumerate(leaves, 1):
            fr.append(d)
            if n in roots:
                out.append(fr.root())
        return out
    c.eq("merkle/frontier roots at sizes 1, 3, 5 (§7.3)", frontier_roots, [roots[1], roots[3], roots[5]])

    incl = hashes(mk["incl_3_in_5"])
    cons = hashes(mk["cons_3_to_5"])
    c.eq("merkle/incl_3_in_5 = [h2, MTH(D[0:2]), h4] (by hand)", incl,
         [lh[2], node_hash(lh[0], lh[1]), lh[4]])
    c.eq("merkle/incl_3_in_5 = RFC 9162 PATH(3, D[5])", lambda: gen_path(3, leaves), incl)
    c.eq("merkle/cons_3_to_5 = [h2, h3, MTH(D[0:2]), h4] (by hand)", cons,
         [lh[2], lh[3], node_hash(lh[0], lh[1]), lh[4]])
    c.eq("merkle/cons_3_to_5 = RFC 9162 PROOF(3, D[5])", lambda: gen_proof(3, leaves), cons)

    # the proofs as they travel (§6 wire form), parsed strictly and shape-checked
    def wire(fields: str, path: list[bytes]) -> bytes:
        return ("{" + fields + ',"path":[' + ",".join(f'"{h.hex()}"' for h in path) + "]}").encode()
    incl_wire = wire('"leaf_index":3,"tree_size":5', incl)
    cons_wire = wire('"size1":3,"size2":5', cons)
    c.check("merkle/inclusion proof of leaf 3 verifies against root_5 (RFC 9162 §2.1.3.2)",
            lambda: verify_inclusion(*(lambda i, n, p: (i, n, lh[3], p, roots[5]))(
                *parse_inclusion_proof(parse_strict(incl_wire)))))
    c.check("merkle/consistency proof 3 -> 5 verifies (RFC 9162 §2.1.4.2)",
            lambda: verify_consistency(*(lambda m, n, p: (m, n, roots[3], roots[5], p))(
                *parse_consistency_proof(parse_strict(cons_wire)))))
    # the consistency path also proves that root_1 (size 1) is a prefix
    c.check("merkle/consistency 1 -> 3 and 1 -> 5 (generated) verify",
            lambda: verify_consistency(1, 3, roots[1], roots[3], gen_proof(1, leaves[:3]))
            or verify_consistency(1, 5, roots[1], roots[5], gen_proof(1, leaves)))

    # negative self-checks: every element and every parameter matters
    for j in range(len(incl)):
        c.code(f"merkle/neg: inclusion path element {j} flipped",
               lambda j=j: verify_inclusion(3, 5, lh[3], [flip(h) if k == j else h for k, h in enumerate(incl)],
                                            roots[5]), "proof.root_mismatch")
    for j in range(len(cons)):
        c.code(f"merkle/neg: consistency path element {j} flipped",
               lambda j=j: verify_consistency(3, 5, roots[3], roots[5],
                                              [flip(h) if k == j else h for k, h in enumerate(cons)]),
               "proof.root_mismatch")
    c.code("merkle/neg: inclusion of leaf 2's hash at index 3",
           lambda: verify_inclusion(3, 5, lh[2], incl, roots[5]), "proof.root_mismatch")
    c.code("merkle/neg: inclusion at index 2", lambda: verify_inclusion(2, 5, lh[3], incl, roots[5]),
           "proof.root_mismatch")
    c.code("merkle/neg: inclusion in a tree of 4", lambda: verify_inclusion(3, 4, lh[3], incl, roots[5]),
           "proof.wrong_length")
    c.code("merkle/neg: inclusion path too long",
           lambda: verify_inclusion(3, 5, lh[3], incl + [incl[0]], roots[5]), "proof.wrong_length")
    c.code("merkle/neg: inclusion path too short",
           lambda: verify_inclusion(3, 5, lh[3], incl[:-1], roots[5]), "proof.wrong_length")
    c.code("merkle/neg: inclusion index 5 of 5", lambda: verify_inclusion(5, 5, lh[3], incl, roots[5]),
           "proof.index_out_of_range")
    c.code("merkle/neg: inclusion against flipped root_5",
           lambda: verify_inclusion(3, 5, lh[3], incl, flip(roots[5])), "proof.root_mismatch")
    c.code("merkle/neg: consistency with flipped root_3",
           lambda: verify_consistency(3, 5, flip(roots[3], 1), roots[5], cons), "proof.root_mismatch")
    c.rejects("merkle/neg: consistency 3->5 path read as 2->5",
              lambda: verify_consistency(2, 5, mth(leaves[:2]), roots[5], cons))
    c.rejects("merkle/neg: consistency 3->5 path read as 4->5",
              lambda: verify_consistency(4, 5, mth(leaves[:4]), roots[5], cons))
    c.code("merkle/neg: consistency path too short",
           lambda: verify_consistency(3, 5, roots[3], roots[5], cons[:-1]), "proof.wrong_length")
    c.code("merkle/neg: consistency path too long",
           lambda: verify_consistency(3, 5, roots[3], roots[5], cons + [cons[0]]), "proof.wrong_length")
    c.code("merkle/neg: consistency from size 0",
           lambda: verify_consistency(0, 5, sha256(b""), roots[5], cons), "proof.empty_tree")
    c.code("merkle/neg: consistency sizes reversed",
           lambda: verify_consistency(5, 3, roots[5], roots[3], cons), "proof.sizes_reversed")
    c.check("merkle/consistency 5 -> 5 with an empty path",
            lambda: verify_consistency(5, 5, roots[5], roots[5], []))
    c.code("merkle/neg: consistency 5 -> 5 with a non-empty path",
           lambda: verify_consistency(5, 5, roots[5], roots[5], cons), "proof.wrong_length")
    c.code("merkle/neg: 31-byte path element",
           lambda: verify_inclusion(3, 5, lh[3], [incl[0][:31], *incl[1:]], roots[5]), "proof.malformed_hash")
    c.code("merkle/neg: wire leaf_index 3.0",
           lambda: parse_inclusion_proof(parse_strict(incl_wire.replace(b":3,", b":3.0,"))), PROOF_SHAPE)
    c.code("merkle/neg: wire size2 5e0",
           lambda: parse_consistency_proof(parse_strict(cons_wire.replace(b":5,", b":5e0,"))), PROOF_SHAPE)
    c.code("merkle/neg: wire unknown member",
           lambda: parse_inclusion_proof(parse_strict(incl_wire.replace(b"{", b'{"x":1,', 1))), PROOF_SHAPE)
    c.code("merkle/neg: wire upper-case path element",
           lambda: parse_inclusion_proof(parse_strict(incl_wire.replace(b"ab37", b"AB37"))),
           "proof.malformed_hash")


def sec_signed_read(c: Checker, x) -> None:
    """§13: the RFC 9421 signature base rebuilt from its components, the
    domain-separated message, the official's signature over it, and the
    access record carried in the header."""
    ex, pub, chain_id = x.ex, x.pub, x.chain_id
    r = parse_fields(ex["signed-read"]["raw"])
    label = "govchain="
    params = r["sig_input"][len(label):]
    c.check("signed-read/label", lambda: r["sig_input"].startswith(label))
    components = '("@method" "@authority" "@path" "@query" "govchain-access-record")'
    c.check("signed-read/covered components", lambda: params.startswith(components))
    m = re.fullmatch(re.escape(components) + r';created=(\d+);keyid="([0-9a-f]{64})"', params)
    c.check("signed-read/parameters created and keyid", lambda: m is not None)
    c.eq("signed-read/keyid is the official's key id", lambda: unhex(m.group(2), 32), key_id(pub))
    base = "\n".join([
        f'"@method": {r["method"]}',
        f'"@authority": {r["authority"]}',
        f'"@path": {r["path"]}',
        f'"@query": {r["query"]}',
        f'"govchain-access-record": {r["record_header"]}',
        f'"@signature-params": {params}',
    ])
    msg = f"govchain/v1/read/{chain_id}".encode() + b"\x00" + base.encode("utf-8")
    c.eq("signed-read/signed message = tag || 0x00 || signature base", lambda: unhex(r["signed_hex"]), msg)
    sig_field = r["signature"]
    c.check("signed-read/Signature is govchain=:<base64>:",
            lambda: sig_field.startswith("govchain=:") and sig_field.endswith(":"))
    sig = base64.b64decode(sig_field[len("govchain=:"):-1], validate=True)
    c.check("signed-read/signature verifies (cryptography)", lambda: verify_rfc8032_lib(pub, msg, sig))
    c.check("signed-read/signature verifies (ZIP-215, pure python)", lambda: verify_zip215(pub, msg, sig))
    rec_b64 = r["record_header"]
    rec = parse_strict(base64.urlsafe_b64decode(rec_b64 + "=" * (-len(rec_b64) % 4)))
    c.eq("signed-read/record is an access.record", lambda: rec["body"]["kind"], "access.record")
    c.eq("signed-read/record signed by the same key", lambda: unhex(rec["body"]["signer"], 32), key_id(pub))
    entry = rec["body"]["payload"]["entries"][0]
    c.eq("signed-read/record names the query (dataset)", lambda: entry["dataset"], "govchain/blacklist")
    c.eq("signed-read/record names the query (subject)", lambda: entry["subject"], r["path"].rsplit("/", 1)[1])
    rec_msg = f"govchain/v1/tx/{chain_id}".encode() + b"\x00" + jcs(rec["body"])
    c.check("signed-read/record signature verifies",
            lambda: verify_rfc8032_lib(pub, rec_msg, unhex(rec["sig"], 64)))


def sec_checkpoint(c: Checker, x) -> None:
    """§8: vkeys, the signed note, the checkpoint body with its extension
    line, the log signature and the cosignature."""
    ex, labels, doc, chain_id = x.ex, x.labels, x.doc, x.chain_id
    node_pub, node_seed, roots = x.node_pub, x.node_seed, x.roots
    wit_seed = sha256(labels["witness"].encode())
    ck = parse_fields(ex["checkpoint-keys"]["raw"])
    log_vk = parse_vkey(ck["log_vkey"])
    wit_vk = parse_vkey(ck["witness_vkey"])
    c.check("checkpoint-keys/log vkey parses, key id matches (type 0x01)", lambda: log_vk[2] == 0x01)
    c.check("checkpoint-keys/witness vkey parses, key id matches (type 0x04)", lambda: wit_vk[2] == 0x04)
    c.check("checkpoint-keys/witness vkey's base64 contains '+' (split on the first two)",
            lambda: "+" in ck["witness_vkey"].split("+", 2)[2])
    c.eq("checkpoint-keys/log key = block node_key", log_vk[3], node_pub)
    c.eq("checkpoint-keys/witness key from witness label seed",
         lambda: pubkey_from_seed_pure(wit_seed), wit_vk[3])

    def vkey_with_flipped_id(vkey: str) -> str:
        name, kid, rest = vkey.split("+", 2)
        return f"{name}+{flip(unhex(kid)).hex()}+{rest}"
    c.code("checkpoint-keys/neg: wrong log key id",
           lambda: parse_vkey(vkey_with_flipped_id(ck["log_vkey"])), "note.bad_vkey")
    c.code("checkpoint-keys/neg: wrong witness key id",
           lambda: parse_vkey(vkey_with_flipped_id(ck["witness_vkey"])), "note.bad_vkey")

    # §10: the fenced block cannot show the note's final newline: restore it.
    note = ex["checkpoint-note"]["raw"] + "\n"
    origin_cfg = f"govchain.example/{chain_id}"
    text, sigs = parse_note(note)
    origin, size, root, ext = parse_checkpoint_body(text)
    c.eq("checkpoint-note/origin", origin, origin_cfg)
    c.eq("checkpoint-note/size 5", size, 5)
    c.eq("checkpoint-note/root = merkle root_5", root, roots[5])
    c.eq("checkpoint-note/extension lines: the state line, then an opaque one", ext,
         [f"state 4 {base64.b64encode(sha256(b'example state')).decode()}",
          "example extension line: covered by every signature"])
    c.eq("checkpoint-note/state line parses (height, root)", lambda: state_line(ext),
         (4, sha256(b"example state")))
    for name, bad in [("leading zero in height", "state 04 " + ext[0].split(" ")[2]),
                      ("no root", "state 4"),
                      ("31-byte root", "state 4 " + base64.b64encode(bytes(31)).decode()),
                      ("root not base64", "state 4 !!!!")]:
        c.code(f"checkpoint-note/neg: state line with {name}", lambda b=bad: state_line([b]),
               "checkpoint.malformed")
    c.code("checkpoint-note/neg: two state lines", lambda: state_line([ext[0], ext[0]]),
           "checkpoint.malformed")
    c.eq("checkpoint-note/a line merely starting with 'state' is opaque",
         lambda: state_line(["statement"]), None)
    c.eq("checkpoint-note/signature lines", lambda: [(n, k) for n, k, _ in sigs],
         [(log_vk[0], log_vk[1]), (wit_vk[0], wit_vk[1])])
    log_sig = next(s for n, k, s in sigs if (n, k) == log_vk[:2])
    cosig = next(s for n, k, s in sigs if (n, k) == wit_vk[:2])
    c.check("checkpoint-note/log signature valid (ZIP-215)", lambda: verify_note_sig(log_vk, text, log_sig) is True)
    c.check("checkpoint-note/log signature valid (cryptography)",
            lambda: verify_rfc8032_lib(log_vk[3], text.encode(), log_sig))
    c.eq("checkpoint-note/log signature deterministic",
         lambda: sign_rfc8032(node_seed, text.encode()), log_sig)
    m = re.search(r"at time (\d+)\.", doc)
    ts_doc = int(m.group(1)) if m else None
    c.eq("checkpoint-note/cosignature timestamp (§10)", lambda: int.from_bytes(cosig[:8], "big"), ts_doc)
    c.eq("checkpoint-note/cosignature valid (ZIP-215)", lambda: verify_note_sig(wit_vk, text, cosig), ts_doc)
    c.check("checkpoint-note/cosignature valid (cryptography)",
            lambda: verify_rfc8032_lib(wit_vk[3], cosignature_message(text, ts_doc), cosig[8:]))
    c.eq("checkpoint-note/cosignature deterministic",
         lambda: sign_rfc8032(wit_seed, cosignature_message(text, ts_doc)), cosig[8:])
    c.eq("checkpoint-note/accepted by §8.5 (quorum 1)",
         lambda: verify_checkpoint(note, origin_cfg, log_vk, [wit_vk], 1),
         (None, (origin, 5, roots[5], ext)))

    # The extension line is covered by both signatures (§8.4: whole text).
    ext_line = ext[1]
    altered = text.replace(ext_line, ext_line + "!")
    dropped = text.replace(ext_line + "\n", "")
    c.rejects("checkpoint-note/neg: altered extension line breaks the log signature",
              lambda: verify_note_sig(log_vk, altered, log_sig))
    c.rejects("checkpoint-note/neg: altered extension line breaks the cosignature",
              lambda: verify_note_sig(wit_vk, altered, cosig))
    c.rejects("checkpoint-note/neg: dropped extension line breaks the log signature",
              lambda: verify_note_sig(log_vk, dropped, log_sig))
    c.rejects("checkpoint-note/neg: cosignature is not over the first three lines only (old C2SP)",
              lambda: verify_note_sig(wit_vk, dropped, cosig))
    c.code("checkpoint-note/neg: §8.5 rejects a note with an altered extension line",
           lambda: verify_checkpoint(note.replace(ext_line, ext_line + "!"), origin_cfg, log_vk, [wit_vk], 1)[0],
           "note.invalid_signature")
    c.code("checkpoint-note/neg: §8.5 rejects a note with an added extension line",
           lambda: verify_checkpoint(note.replace(ext_line + "\n", ext_line + "\nmore\n"), origin_cfg,
                                     log_vk, [wit_vk], 1)[0], "note.invalid_signature")

    c.rejects("checkpoint-note/neg: flipped log signature",
              lambda: verify_note_sig(log_vk, text, flip(log_sig, 10)))
    c.rejects("checkpoint-note/neg: flipped cosignature",
              lambda: verify_note_sig(wit_vk, text, flip(cosig, 20)))
    c.rejects("checkpoint-note/neg: flipped cosignature timestamp",
              lambda: verify_note_sig(wit_vk, text, flip(cosig, 7)))
    c.rejects("checkpoint-note/neg: cosignature over the log's message",
              lambda: verify_zip215(wit_vk[3], text.encode(), cosig[8:]))
    c.rejects("checkpoint-note/neg: flipped root in text",
              lambda: verify_note_sig(log_vk, text.replace(text.split("\n")[2], base64.b64encode(
                  flip(roots[5], 0)).decode()), log_sig))
    c.rejects("checkpoint-note/neg: size 3 with root_3 in text",
              lambda: verify_note_sig(log_vk, text.replace("\n5\n", "\n3\n").replace(
                  text.split("\n")[2], base64.b64encode(roots[3]).decode()), log_sig))
    c.code("checkpoint-note/neg: wrong origin",
           lambda: verify_checkpoint(note, "govchain.example/other", log_vk, [wit_vk], 1)[0],
           "checkpoint.wrong_origin")
    c.code("checkpoint-note/neg: quorum 2 not met",
           lambda: verify_checkpoint(note, origin_cfg, log_vk, [wit_vk], 2)[0], "checkpoint.quorum_not_met")
    c.code("checkpoint-note/neg: missing log signature",
           lambda: verify_checkpoint(note.replace(EM_DASH + " " + log_vk[0] + " ", EM_DASH + " x.example ", 1),
                                     origin_cfg, log_vk, [wit_vk], 1)[0], "checkpoint.missing_log_signature")
    c.code("checkpoint-note/neg: size with a leading zero",
           lambda: verify_checkpoint(note.replace("\n5\n", "\n05\n"), origin_cfg, log_vk, [wit_vk], 1)[0],
           "checkpoint.malformed")
    c.code("checkpoint-note/neg: DEL in the extension line",
           lambda: verify_checkpoint(note.replace(ext_line, ext_line + "\x7f"), origin_cfg, log_vk, [wit_vk], 1)[0],
           "note.malformed")


def sec_edges(c: Checker, x) -> None:
    """§3.2 / §3.3: the ZIP-215 and registrable-key edge cases."""
    ex, tag = x.ex, x.tag
    rows, edge_msg = parse_edge_table(ex["ed25519-edges"]["text"])
    c.check("ed25519-edges/table and message parsed", lambda: len(rows) >= 1 and edge_msg is not None)
    c.eq("ed25519-edges/message = tx tag || 0x00 || {}", edge_msg, tagged(tag, b"{}"))
    accepted = []
    by_case = {}
    for r in rows:
        rpub, rsig = unhex(r["pub"], 32), unhex(r["sig"], 64)
        by_case[r["case"]] = (rpub, rsig)
        verdict = "accept" if verify_zip215(rpub, edge_msg, rsig) else "reject"
        c.eq(f"ed25519-edges/{r['case']}: protocol verdict", verdict, r["protocol"])
        reason = registrable(rpub)
        c.eq(f"ed25519-edges/{r['case']}: registrable key", "yes" if reason is None else "no",
             r["registrable"])
        if verdict == "accept":
            accepted.append((rpub, edge_msg, rsig))
            c.rejects(f"ed25519-edges/{r['case']}: neg: flipped S rejected",
                      lambda p=rpub, s=rsig: verify_zip215(p, edge_msg, flip(s, 33)))
    c.check("ed25519-edges/batch of all accepted rows accepts", lambda: verify_batch_zip215(accepted))
    for r in rows:
        if r["protocol"] == "reject":
            c.rejects(f"ed25519-edges/batch including {r['case']} rejects",
                      lambda r=r: verify_batch_zip215(accepted + [(unhex(r["pub"]), edge_msg, unhex(r["sig"]))]))
    c.rejects("ed25519-edges/batch with a tampered honest row rejects",
              lambda: verify_batch_zip215(accepted + [(by_case["honest"][0], edge_msg,
                                                       flip(by_case["honest"][1], 40))]))
    check_edge_labels(c, by_case, edge_msg)


def check_edge_labels(c: Checker, cases: dict, msg: bytes) -> None:
    """The rows are what their names say (descriptive checks on the table).
    A row with no description here fails, so new rows get one."""
    def order_kind(enc: bytes) -> str:
        p = pt_decode_zip215(enc)
        if pt_eq(pt_mul(8, p), IDENTITY):
            return "small"
        return "prime" if pt_eq(pt_mul(L, p), IDENTITY) else "mixed"

    def y_raw(enc: bytes) -> int:
        return int.from_bytes(enc, "little") & (2**255 - 1)

    def s_minus_l(s: bytes) -> bytes:
        return s[:32] + (int.from_bytes(s[32:], "little") - L).to_bytes(32, "little")

    expect = {
        "honest": lambda p, s: verify_rfc8032_lib(p, msg, s),
        # S + L: the same signature with a non-canonical scalar
        "non-canonical-s": lambda p, s: (int.from_bytes(s[32:], "little") >= L
                                         and verify_rfc8032_lib(p, msg, s_minus_l(s))),
        "mixed-order-r": lambda p, s: order_kind(s[:32]) == "mixed",
        "mixed-order-a": lambda p, s: order_kind(p) == "mixed",
        "small-order-a": lambda p, s: order_kind(p) == "small",
        # x = 0 with the sign bit set: canonical y, ZIP-215 decodes it, RFC 8032 does not
        "non-canonical-a-sign-bit": lambda p, s: (p[31] & 0x80 and y_raw(p) < P
                                                  and pt_decode_zip215(p)[0] == 0
                                                  and pt_encode(pt_decode_zip215(p)) != p
                                                  and pt_decode_rfc8032(p) is None),
        # y >= p: reduced mod p by ZIP-215, rejected by RFC 8032
        "non-canonical-a": lambda p, s: (y_raw(p) >= P and pt_encode(pt_decode_zip215(p)) != p
                                         and pt_decode_rfc8032(p) is None),
        "small-order-r-and-a": lambda p, s: order_kind(p) == "small" and order_kind(s[:32]) == "small",
    }
    for name, (p, s) in cases.items():
        f = expect.get(name)
        if f is None:
            c.check(f"ed25519-edges/{name}: row matches its description",
                    lambda: "no description check for this row in protocol_check.py")
        else:
            c.check(f"ed25519-edges/{name}: row matches its description", lambda f=f, p=p, s=s: bool(f(p, s)))
    # §3.3 (see registrable): the two non-canonical keys decode (ZIP-215)
    # and fail rule 2, not rule 1.
    for name in ("non-canonical-a-sign-bit", "non-canonical-a"):
        if name in cases:
            c.check(f"ed25519-edges/{name}: §3.3 identity.weak_key by rule 2",
                    lambda p=cases[name][0]: (registrable(p) or "").startswith("identity.weak_key (rule 2"))


def sec_identity(c: Checker, x) -> None:
    """§12.9: the identity-hash example, from the spec's own words."""
    doc, ex = x.doc, x.ex
    f = parse_fields(ex["identity-hash"]["raw"])
    m = re.search(r"weights `([0-9 ]+)`", doc)
    c.eq("identity-hash/§12.9 check weights", lambda: [int(w) for w in m.group(1).split()], CN_RID_WEIGHTS)
    c.check("identity-hash/§12.9 message layout",
            lambda: None if '"govchain/v1/identity" ‖ 0x00 ‖ type ‖ 0x00 ‖ normalised number' in doc
            else "message layout not found in §12.9")
    c.eq("identity-hash/input is its UTF-8", lambda: f["input"].encode("utf-8").hex(), f["input_utf8"])
    c.check("identity-hash/input has a full-width digit and a lowercase x",
            lambda: "\uff11" in f["input"] and f["input"].endswith("x"))
    c.eq("identity-hash/normalised", lambda: normalise_id(f["type"], f["input"]), f["normalised"])
    c.eq("identity-hash/message", lambda: identity_message(f["type"], f["normalised"]).hex(), f["message_hex"])
    key = unhex(f["key"], 32)
    c.eq("identity-hash/key = SHA-256(label)", key, sha256(b"govchain example identity key"))
    c.eq("identity-hash/key id = SHA-256(key)[:8]", sha256(key)[:8].hex(), f["key_id"])
    c.eq("identity-hash/HMAC-SHA256 (hmac module)",
         lambda: identity_hash(key, f["type"], f["input"]).hex(), f["hash"])
    # HMAC by hand (RFC 2104), so the check does not rest on one library.
    def by_hand():
        k = key.ljust(64, b"\x00")
        inner = sha256(bytes(b ^ 0x36 for b in k) + unhex(f["message_hex"]))
        return sha256(bytes(b ^ 0x5C for b in k) + inner).hex()
    c.eq("identity-hash/HMAC-SHA256 (RFC 2104 by hand)", by_hand, f["hash"])
    c.eq("identity-hash/same person typed plainly",
         lambda: identity_hash(key, "cn-rid", f["normalised"].lower()).hex(), f["hash"])
    c.check("identity-hash/NFKC equals the fixed mapping on every allowed character",
            lambda: all(unicodedata.normalize("NFKC", chr(u)) == (" " if u == 0x3000 else chr(u - 0xFEE0))
                        for u in list(range(0xFF01, 0xFF5F)) + [0x3000]))
    c.code("identity-hash/neg: wrong check character", lambda: normalise_id("cn-rid", "110105194912310021"),
           "identity.bad_id_number")
    c.code("identity-hash/neg: circled digit (NFKC would map it; §12.9 refuses it)",
           lambda: normalise_id("cn-rid", "1101051949123100\u24602X"),
           "identity.bad_id_number")
    c.code("identity-hash/neg: 15-digit number", lambda: normalise_id("cn-rid", "110105491231002"),
           "identity.bad_id_number")
    c.eq("identity-hash/passport", lambda: normalise_id("passport", "chn\uff1ae1234-5678"), "CHN:E12345678")
    c.code("identity-hash/neg: unknown type", lambda: normalise_id("drivers-licence", "1"),
           "identity.unknown_document_type")
    c.rejects("identity-hash/neg: another key gives another hash",
              lambda: identity_hash(flip(key, 0), "cn-rid", f["input"]).hex() == f["hash"])


def sec_payroll(c: Checker, x) -> None:
    """§12.5: the payroll-root example, re-derived from the spec."""
    doc, ex = x.doc, x.ex
    f = parse_fields(ex["payroll-root"]["raw"])
    c.check("payroll-root/§12.5 leaf data layout",
            lambda: None if '"govchain/v1/payroll" ‖ 0x00 ‖ JCS(line)' in doc else "leaf layout not found")
    pkey = unhex(f["payroll_key"], 32)
    c.eq("payroll-root/payroll key = SHA-256(label)", pkey, sha256(b"govchain example payroll key"))
    c.eq("payroll-root/key id", sha256(pkey)[:8].hex(), f["payroll_key_id"])
    lines = []
    for i in range(int(f["payroll_lines"])):
        line = parse_strict(f[f"line_{i}"])
        lines.append(line)
        c.eq(f"payroll-root/line {i} is canonical (JCS)", lambda l=line: jcs(l).decode(), f[f"line_{i}"])
        c.eq(f"payroll-root/line {i} has exactly amount and worker", sorted(line), ["amount", "worker"])
        c.eq(f"payroll-root/line {i} worker = identity hash of worker_{i}",
             lambda i=i: identity_hash(pkey, "cn-rid", f[f"worker_{i}"]).hex(), line["worker"])
        c.eq(f"payroll-root/leaf hash {i}", lambda l=line: leaf_hash(payroll_leaf_data(l)).hex(),
             f[f"leaf_hash_{i}"])
    c.eq("payroll-root/total", sum(l["amount"] for l in lines), int(f["payroll_total"]))
    c.eq("payroll-root/root (MTH)", lambda: payroll_root(lines).hex(), f["payroll_root"])
    fr = Frontier()
    for l in lines:
        fr.append(payroll_leaf_data(l))
    c.eq("payroll-root/root (frontier, as the state keeps it §12.7)", lambda: fr.root().hex(), f["payroll_root"])
    c.rejects("payroll-root/neg: two lines swapped give another root",
              lambda: payroll_root([lines[1], lines[0]] + lines[2:]).hex() == f["payroll_root"])
    c.rejects("payroll-root/neg: a log leaf (no prefix) gives another root",
              lambda: mth([jcs(l) for l in lines]).hex() == f["payroll_root"])


# ---------------------------------------------------------------------------
# The state tree (docs/examples/state-tree.json)
# ---------------------------------------------------------------------------
#
# Construction: key_hash = SHA-256(key), value_hash = SHA-256(value bytes);
# a binary trie over the 256 bits of key_hash (most significant bit of byte 0
# first, bit 0 -> left; a node at depth d splits on bit d);
# leaf_hash = SHA-256(0x10 || key_hash || value_hash),
# node_hash = SHA-256(0x11 || l || r). Compact: a subtree with no entry is 32
# zero bytes, with one entry that entry's leaf_hash, otherwise
# node_hash(left, right). A proof is {"leaf": null | {"key", "value"},
# "siblings": [...]} with the siblings top-down (siblings[0] at depth 1).

STATE_TREE_EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "state-tree.json"
SMT_ZERO = bytes(32)


def smt_leaf_hash(kh: bytes, vh: bytes) -> bytes:
    return sha256(b"\x10" + kh + vh)


def smt_node_hash(l: bytes, r: bytes) -> bytes:
    return sha256(b"\x11" + l + r)


def smt_bit(h: bytes, i: int) -> int:
    return (h[i // 8] >> (7 - i % 8)) & 1


def smt_split(entries: dict, depth: int) -> tuple[dict, dict]:
    left = {k: v for k, v in entries.items() if smt_bit(k, depth) == 0}
    right = {k: v for k, v in entries.items() if smt_bit(k, depth) == 1}
    return left, right


def smt_root(entries: dict, depth: int = 0) -> bytes:
    """Root of {key_hash: value_hash}, recursively from the definition."""
    if not entries:
        return SMT_ZERO
    if len(entries) == 1:
        (k, v), = entries.items()
        return smt_leaf_hash(k, v)
    left, right = smt_split(entries, depth)
    return smt_node_hash(smt_root(left, depth + 1), smt_root(right, depth + 1))


def smt_prove(entries: dict, kh: bytes) -> dict:
    """The proof for kh in wire form: walk down while the subtree holds two or
    more entries."""
    siblings, depth, sub = [], 0, entries
    while len(sub) >= 2:
        left, right = smt_split(sub, depth)
        same, other = (left, right) if smt_bit(kh, depth) == 0 else (right, left)
        siblings.append(smt_root(other, depth + 1).hex())
        sub, depth = same, depth + 1
    leaf = None
    if sub:
        (k, v), = sub.items()
        leaf = {"key": k.hex(), "value": v.hex()}
    return {"leaf": leaf, "siblings": siblings}


def smt_verify(root: bytes, key: bytes, value: bytes | None, proof) -> None:
    """Raises ProtocolError(state_proof.*) unless the proof shows `key` with
    `value` (bytes) or, for None, absent, under `root`."""
    kh = sha256(key)
    check_members(proof, {"leaf", "siblings"}, "state_proof.malformed", "state proof")
    if not isinstance(proof["siblings"], list):
        raise ProtocolError("state_proof.malformed", "siblings must be an array")
    sibs = [unhex(s, 32, "state_proof.malformed") for s in proof["siblings"]]
    leaf = proof["leaf"]
    if leaf is not None:
        check_members(leaf, {"key", "value"}, "state_proof.malformed", "state proof leaf")
        leaf = (unhex(leaf["key"], 32, "state_proof.malformed"),
                unhex(leaf["value"], 32, "state_proof.malformed"))
    d = len(sibs)
    # Canonical form (the module documentation of crates/ledger/src/smt.rs).
    if d > 256:
        raise ProtocolError("state_proof.malformed", "more than 256 siblings")
    if d and sibs[-1] == SMT_ZERO:
        raise ProtocolError("state_proof.malformed", "deepest sibling is empty")
    if leaf is None and d == 256:
        raise ProtocolError("state_proof.malformed", "empty position at depth 256")
    if leaf is not None and any(smt_bit(leaf[0], i) != smt_bit(kh, i) for i in range(d)):
        raise ProtocolError("state_proof.malformed", "leaf is not on the key's path")
    h = SMT_ZERO if leaf is None else smt_leaf_hash(*leaf)
    for i in range(d - 1, -1, -1):
        h = smt_node_hash(h, sibs[i]) if smt_bit(kh, i) == 0 else smt_node_hash(sibs[i], h)
    if h != root:
        raise ProtocolError("state_proof.root_mismatch")
    present = leaf is not None and leaf[0] == kh
    if value is None:
        if present:
            raise ProtocolError("state_proof.not_absent")
    elif not present:
        raise ProtocolError("state_proof.not_present")
    elif leaf[1] != sha256(value):
        raise ProtocolError("state_proof.wrong_value")


def sec_genesis_state(c: Checker, x) -> None:
    """§10 `state` and §12.7: every entry of a genesis state; the root is
    recomputed from the listed entries, each value must be canonical, and the
    two proofs verify (and fail when altered)."""
    f = parse_fields(x.ex["state"]["raw"])
    entries, values = {}, {}
    i = 0
    while f"key_{i}" in f:
        key, value = f[f"key_{i}"], f[f"value_{i}"].encode()
        c.eq(f"state/value of {key} is canonical JSON", lambda v=value: jcs(parse_strict(v)), value)
        entries[sha256(key.encode())] = sha256(value)
        values[key] = value
        i += 1
    c.check("state/every collection of a genesis state is listed",
            lambda: {k.split("/")[0] for k in values} == {"meta", "department", "official", "key", "grant", "seq"})
    root = unhex(f["state_root"], 32)
    c.eq("state/root recomputed from the entries", lambda: smt_root(entries), root)
    meta = parse_strict(values["meta"])
    c.eq("state/meta after genesis", lambda: (meta["chain_id"], meta["next_height"], meta["tx_count"]),
         ("gov-demo", 1, 1))
    dept = parse_strict(values["department/city-management"])
    c.eq("state/department's node key is the example node's",
         lambda: dept["node_key"], parse_fields(x.ex["block"]["raw"])["node_key"])
    official = next(k for k in values if k.startswith("official/"))
    c.eq("state/official id = SHA-256(first key)",
         lambda: sha256(unhex(parse_strict(values[official])["keys"][0]["key"], 32)).hex(),
         official.split("/", 1)[1])
    present = f["present_key"]
    pp = parse_strict(f["present_proof"].encode())
    ap = parse_strict(f["absent_proof"].encode())
    c.check("state/presence proof verifies",
            lambda: smt_verify(root, present.encode(), values[present], pp))
    c.check("state/absence proof verifies",
            lambda: smt_verify(root, f["absent_key"].encode(), None, ap))
    c.eq("state/the proofs are the ones the definition gives",
         lambda: (smt_prove(entries, sha256(present.encode())),
                  smt_prove(entries, sha256(f["absent_key"].encode()))), (pp, ap))
    c.code("state/presence proof of another value fails",
           lambda: smt_verify(root, present.encode(), values[present] + b" ", pp),
           "state_proof.wrong_value")
    c.code("state/absence proof of a present key fails",
           lambda: smt_verify(root, present.encode(), None, pp), "state_proof.not_absent")


def sec_state_tree(c: Checker, x) -> None:
    """The state-tree example, re-derived from the construction above."""
    del x  # self-contained on docs/examples/state-tree.json
    ex = parse_strict(STATE_TREE_EXAMPLE.read_bytes())
    entries = {}
    for e in ex["entries"]:
        name = e["key"]
        kh, vh = sha256(name.encode()), sha256(e["value"].encode())
        c.eq(f"state-tree/{name} value is canonical (JCS)",
             lambda e=e: jcs(parse_strict(e["value"])).decode(), e["value"])
        c.eq(f"state-tree/{name} key hash", kh.hex(), e["key_hash"])
        c.eq(f"state-tree/{name} value hash", vh.hex(), e["value_hash"])
        c.eq(f"state-tree/{name} leaf hash", smt_leaf_hash(kh, vh).hex(), e["leaf_hash"])
        entries[kh] = vh
    root = unhex(ex["root"], 32)
    c.eq("state-tree/root", lambda: smt_root(entries).hex(), ex["root"])
    c.eq("state-tree/empty map root is ZERO", smt_root({}), SMT_ZERO)
    one = dict([next(iter(entries.items()))])
    c.eq("state-tree/one-entry root is its leaf hash", smt_root(one), smt_leaf_hash(*next(iter(one.items()))))
    pres, absn = ex["presence"], ex["absence"]
    pkey, pval, akey = pres["key"].encode(), pres["value"].encode(), absn["key"].encode()
    c.check("state-tree/presence proof verifies", lambda: smt_verify(root, pkey, pval, pres["proof"]))
    c.check("state-tree/absence proof verifies", lambda: smt_verify(root, akey, None, absn["proof"]))
    c.eq("state-tree/presence proof is the one the definition gives",
         lambda: smt_prove(entries, sha256(pkey)), pres["proof"])
    c.eq("state-tree/absence proof is the one the definition gives",
         lambda: smt_prove(entries, sha256(akey)), absn["proof"])
    # Every other entry and a few absent keys round-trip through prove/verify.
    for e in ex["entries"]:
        c.check(f"state-tree/own proof of {e['key']} verifies",
                lambda e=e: smt_verify(root, e["key"].encode(), e["value"].encode(),
                                       smt_prove(entries, sha256(e["key"].encode()))))
    for k in (b"case/RC-3", b"department/police", b""):
        c.check(f"state-tree/own absence proof of {k!r} verifies",
                lambda k=k: smt_verify(root, k, None, smt_prove(entries, sha256(k))))

    def with_sibling(proof, i, f):
        sibs = list(proof["siblings"])
        sibs[i] = f(sibs[i])
        return {"leaf": proof["leaf"], "siblings": sibs}

    def flip_hex(hx: str, byte: int = -1) -> str:
        return flip(bytes.fromhex(hx), byte).hex()

    for name, key, val, proof in (("presence", pkey, pval, pres["proof"]),
                                  ("absence", akey, None, absn["proof"])):
        for i in range(len(proof["siblings"])):
            c.rejects(f"state-tree/neg: {name} with sibling {i} flipped",
                      lambda p=proof, i=i, k=key, v=val: smt_verify(root, k, v, with_sibling(p, i, flip_hex)))
        c.code(f"state-tree/neg: {name} against a flipped root",
               lambda k=key, v=val, p=proof: smt_verify(flip(root, 5), k, v, p), "state_proof.root_mismatch")
        c.rejects(f"state-tree/neg: {name} truncated",
                  lambda k=key, v=val, p=proof: smt_verify(root, k, v, {"leaf": p["leaf"], "siblings": p["siblings"][:-1]}))
        c.rejects(f"state-tree/neg: {name} extended",
                  lambda k=key, v=val, p=proof: smt_verify(root, k, v, {"leaf": p["leaf"], "siblings": p["siblings"] + [SMT_ZERO.hex()]}))
        c.rejects(f"state-tree/neg: {name} with 0x00/0x01 (log) prefixes",
                  lambda k=key, v=val, p=proof: _smt_with_log_prefixes(root, k, v, p))
    c.code("state-tree/neg: presence leaf value flipped",
           lambda: smt_verify(root, pkey, pval, {"leaf": {"key": pres["proof"]["leaf"]["key"],
                                                          "value": flip_hex(pres["proof"]["leaf"]["value"])},
                                                 "siblings": pres["proof"]["siblings"]}),
           "state_proof.root_mismatch")
    c.code("state-tree/neg: presence with another value", lambda: smt_verify(root, pkey, pval + b" ", pres["proof"]),
           "state_proof.wrong_value")
    c.code("state-tree/neg: presence claimed absent", lambda: smt_verify(root, pkey, None, pres["proof"]),
           "state_proof.not_absent")
    c.code("state-tree/neg: absence claimed present", lambda: smt_verify(root, akey, b"{}", absn["proof"]),
           "state_proof.not_present")
    c.rejects("state-tree/neg: presence proof for another key", lambda: smt_verify(root, akey, pval, pres["proof"]))


def _smt_with_log_prefixes(root: bytes, key: bytes, value: bytes | None, proof) -> bool:
    """Whether the proof would also verify with the RFC 6962 log's 0x00/0x01
    prefixes in place of 0x10/0x11 (it must not: the domains are apart)."""
    kh = sha256(key)
    sibs = [bytes.fromhex(s) for s in proof["siblings"]]
    leaf = proof["leaf"]
    h = SMT_ZERO if leaf is None else leaf_hash(bytes.fromhex(leaf["key"]) + bytes.fromhex(leaf["value"]))
    for i in range(len(sibs) - 1, -1, -1):
        h = node_hash(h, sibs[i]) if smt_bit(kh, i) == 0 else node_hash(sibs[i], h)
    return h == root


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent / "PROTOCOL.md"
    path = Path(argv[1]) if len(argv) > 1 else default
    try:
        doc = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        sys.stderr.write(f"protocol_check.py: cannot read {path}: {e}\n")
        return 2
    c = Checker()
    self_tests(c)
    check_examples(c, doc)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
