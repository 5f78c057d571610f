#!/usr/bin/env python3
"""Independent checker for the govchain protocol's worked examples.

This script was written from PROTOCOL.md alone (no access to the reference
implementation). It extracts the generated worked examples of §10 and
re-derives every value that the specification allows to be derived, with its
own implementations of:

  * strict JSON parsing (§2.1) and RFC 8785 canonical JSON (§2.2),
  * Edwards25519 arithmetic, ZIP-215 signature validity (§3.2), batch
    verification, and the registrable-key rule (§3.3),
  * RFC 6962 Merkle tree hashing and the RFC 9162 §2.1.3.2 / §2.1.4.2 proof
    verification algorithms (§6),
  * the block header and chain verification rules (§7),
  * C2SP signed notes, vkeys, checkpoints and cosignature/v1 (§8).

The PyPI package `cryptography` (OpenSSL) is used only as a second opinion:
RFC 8032 key derivation, deterministic re-signing of the examples, and a
cofactorless cross-check of the honest signatures. Every protocol verdict
(ZIP-215 validity, registrability) comes from the pure-Python code below.

Usage:  python3 scripts/protocol_check.py [PATH/TO/PROTOCOL.md]

Prints one line per check (`ok  <name>` or `FAIL <name>: <reason>`), then
`N passed, M failed`; exits 1 if anything failed.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
import re
import secrets
import sys
from pathlib import Path
from types import SimpleNamespace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ---------------------------------------------------------------------------
# §1 / §2.3 value formats
# ---------------------------------------------------------------------------

# All patterns are used with fullmatch (ASCII classes only, no "$" newline slack).
HEX_RE = re.compile(r"(?:[0-9a-f]{2})*")  # lowercase only (§1)
CHAIN_ID_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{0,63}")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
KIND_RE = re.compile(r"[a-z_]+(\.[a-z_]+)*")
MAX_SAFE = 2**53 - 1


def unhex(s: str, nbytes: int | None = None) -> bytes:
    """Decode protocol hex: lowercase, no prefix, optionally an exact length."""
    if not HEX_RE.fullmatch(s):
        raise ValueError(f"not lowercase hex: {s[:20]}...")
    b = bytes.fromhex(s)
    if nbytes is not None and len(b) != nbytes:
        raise ValueError(f"expected {nbytes} bytes, got {len(b)}")
    return b


def b64decode_strict(s: str) -> bytes:
    """RFC 4648 §4 base64 with padding; rejects non-alphabet and non-canonical input."""
    b = base64.b64decode(s, validate=True)
    if base64.b64encode(b).decode() != s:
        raise ValueError("non-canonical base64")
    return b


def check_time(s: str) -> None:
    """§2.3 time: exactly YYYY-MM-DDTHH:MM:SS.sssZ, and a real UTC instant."""
    if not isinstance(s, str) or not TIME_RE.fullmatch(s):
        raise ValueError(f"type.timestamp: {s!r}")
    datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")  # validates ranges


def check_chain_id(s: str) -> None:
    if not isinstance(s, str) or not CHAIN_ID_RE.fullmatch(s):
        raise ValueError(f"type.chain_id: {s!r}")


def check_uint(v, what: str) -> None:
    if type(v) is not int or not 0 <= v <= MAX_SAFE:
        raise ValueError(f"{what} is not an integer in 0..2^53-1: {v!r}")


# ---------------------------------------------------------------------------
# §2.1 strict JSON parsing
# ---------------------------------------------------------------------------

MAX_DEPTH = 64


class StrictJSONError(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise StrictJSONError(f"jcs.duplicate_key: {k!r}")
        obj[k] = v
    return obj


def _parse_int(s: str) -> int:
    v = int(s)
    if abs(v) > MAX_SAFE:
        raise StrictJSONError(f"jcs.integer_out_of_range: {s}")
    return v


def _parse_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):  # e.g. 1e400: not representable as an I-JSON number
        raise StrictJSONError(f"jcs.syntax: number out of double range: {s}")
    return v


def _reject_constant(s: str):
    raise StrictJSONError(f"jcs.syntax: {s} is not JSON")


def _check_tree(v, depth: int) -> None:
    """Depth limit (containers count one level each; top-level container = 1)
    and no unpaired surrogates (Python's json module lets them through)."""
    if isinstance(v, (dict, list)):
        if depth + 1 > MAX_DEPTH:
            raise StrictJSONError("jcs.too_deep")
        items = v.items() if isinstance(v, dict) else ((None, x) for x in v)
        for k, x in items:
            if k is not None:
                _check_string(k)
            _check_tree(x, depth + 1)
    elif isinstance(v, str):
        _check_string(v)


def _check_string(s: str) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        raise StrictJSONError("jcs.syntax: unpaired surrogate")


def parse_strict(text: str):
    """Parse one JSON document under the rules of §2.1."""
    try:
        v = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except StrictJSONError:
        raise
    except (ValueError, RecursionError) as e:
        raise StrictJSONError(f"jcs.syntax: {e}") from None
    _check_tree(v, 0)
    return v


# ---------------------------------------------------------------------------
# §2.2 RFC 8785 canonicalization
# ---------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t",
            "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _jcs_string(s: str) -> str:
    _check_string(s)
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


def jcs(v) -> bytes:
    """RFC 8785 canonical form, UTF-8 encoded."""
    return _jcs(v).encode("utf-8")


def _jcs(v) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        if abs(v) > MAX_SAFE:  # govchain rule: never round silently
            raise ValueError("integer outside ±(2^53-1) cannot be canonicalized")
        return str(v)
    if isinstance(v, float):
        return es_number_to_string(v)
    if isinstance(v, str):
        return _jcs_string(v)
    if isinstance(v, list):
        return "[" + ",".join(_jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        # sort by UTF-16 code units: big-endian UTF-16 bytes compare the same way
        keys = sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_jcs_string(k) + ":" + _jcs(v[k]) for k in keys) + "}"
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
    X, Y, Z, _ = p1
    zi = pow(Z, P - 2, P)
    x, y = X * zi % P, Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def pt_decode_zip215(b: bytes):
    """Decode 32 bytes to a point, ZIP-215 style (§3.2 rule 2): a
    y-coordinate >= p is reduced mod p. A set sign bit with x = 0 is also
    accepted (x stays 0), as ZIP 215 does and RFC 8032 §5.1.3 does not;
    PROTOCOL.md §3.2 does not mention this case explicitly.
    Returns None if no curve point has that y."""
    if len(b) != 32:
        return None
    v = int.from_bytes(b, "little")
    sign = v >> 255
    y = (v & (2**255 - 1)) % P
    u = (y * y - 1) % P
    w = (D * y * y + 1) % P  # never 0: -1/d is not a square
    x2 = u * pow(w, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if (x & 1) != sign:
        x = -x % P
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
    """§3.3: None if registrable, else the reason."""
    A = pt_decode_zip215(pub)
    if A is None:
        return "crypto.invalid_key (not a curve point)"
    if pt_encode(A) != pub:
        return "crypto.weak_key (non-canonical encoding)"
    if pt_eq(pt_mul(8, A), IDENTITY):
        return "crypto.weak_key (small order)"
    if not pt_eq(pt_mul(L, A), IDENTITY):
        return "crypto.weak_key (not torsion-free)"
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

    def __init__(self):
        self.size = 0
        self.nodes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        h = leaf_hash(leaf)
        self.size += 1
        # merge equal-height subtrees: one merge per trailing 1 bit of size-1
        s = self.size - 1
        while s & 1:
            h = node_hash(self.nodes.pop(), h)
            s >>= 1
        self.nodes.append(h)

    def root(self) -> bytes:
        if not self.nodes:
            return sha256(b"")
        r = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            r = node_hash(left, r)
        return r


def verify_inclusion(leaf_index: int, tree_size: int, lhash: bytes,
                     path: list[bytes], root: bytes) -> str | None:
    """RFC 9162 §2.1.3.2 plus the govchain rules of §6. None = valid."""
    if any(len(h) != 32 for h in [lhash, root, *path]):
        return "proof.malformed_hash"
    if leaf_index >= tree_size:
        return "proof.index_out_of_range"
    fn, sn = leaf_index, tree_size - 1
    r = lhash
    for p in path:
        if sn == 0:
            return "proof.wrong_length (path too long)"
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "proof.wrong_length (path too short)"
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
        return "proof.wrong_length (empty path)"
    path = list(path)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            return "proof.wrong_length (path too long)"
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        return "proof.wrong_length (path too short)"
    if fr != root1 or sr != root2:
        return "proof.root_mismatch"
    return None


# ---------------------------------------------------------------------------
# §5 transactions and §7 blocks
# ---------------------------------------------------------------------------

BODY_MEMBERS = {"chain_id", "signer", "seq", "kind", "payload", "created_at"}
HEADER_MEMBERS = {"chain_id", "height", "prev_hash", "time", "proposer",
                  "tx_count", "tx_root", "log_size", "log_root", "state_digest"}


def check_body_shape(body) -> None:
    """§5.1 member set and types (the payload is kind-specific and not
    defined in PROTOCOL.md, so only its JSON type is checked)."""
    if not isinstance(body, dict) or set(body) != BODY_MEMBERS:
        raise ValueError(f"tx.shape: members {sorted(body)}")
    check_chain_id(body["chain_id"])
    unhex(body["signer"], 32)
    check_uint(body["seq"], "seq")
    if not (isinstance(body["kind"], str) and len(body["kind"]) <= 64
            and KIND_RE.fullmatch(body["kind"])):
        raise ValueError(f"tx.kind: {body['kind']!r}")
    if not isinstance(body["payload"], dict):
        raise ValueError("tx.shape: payload is not an object")
    check_time(body["created_at"])


def check_header_shape(h) -> None:
    """§7.1 member set and types."""
    if not isinstance(h, dict) or set(h) != HEADER_MEMBERS:
        raise ValueError(f"header members {sorted(h)}")
    check_chain_id(h["chain_id"])
    for f in ("height", "tx_count", "log_size"):
        check_uint(h[f], f)
    for f in ("prev_hash", "proposer", "tx_root", "log_root", "state_digest"):
        unhex(h[f], 32)
    check_time(h["time"])


class ChainVerifier:
    """§7.3, steps 1-8 (transaction rules and state_digest are out of scope:
    the state machine is not specified in PROTOCOL.md)."""

    def __init__(self, chain_id: str, node_keys: dict[bytes, bytes]):
        self.chain_id = chain_id
        self.node_keys = node_keys  # key id -> public key
        self.height = 0
        self.last_hash = bytes(32)
        self.last_time: str | None = None
        self.frontier = Frontier()

    def apply(self, block) -> str | None:
        if not isinstance(block, dict) or set(block) != {"header", "sig", "txs"}:
            return "block shape"
        h = block["header"]
        try:
            check_header_shape(h)
        except ValueError as e:
            return f"header: {e}"
        if h["chain_id"] != self.chain_id:
            return "block.wrong_chain"
        if h["height"] != self.height:
            return "block.height"
        if unhex(h["prev_hash"]) != self.last_hash:
            return "block.prev_hash"
        # fixed-width time strings order like the instants they denote
        if self.last_time is not None and h["time"] < self.last_time:
            return "block.time_backwards"
        if h["tx_count"] != len(block["txs"]):
            return "block.tx_count"
        leaves = [jcs(env) for env in block["txs"]]
        if unhex(h["tx_root"]) != mth(leaves):
            return "block.tx_root"
        for leaf in leaves:
            self.frontier.append(leaf)
        if h["log_size"] != self.frontier.size:
            return "block.log_size"
        if unhex(h["log_root"]) != self.frontier.root():
            return "block.log_root"
        pub = self.node_keys.get(unhex(h["proposer"]))
        if pub is None:
            return "block.unknown_proposer"
        msg = tagged(f"govchain/v1/block/{self.chain_id}", jcs(h))
        if not verify_zip215(pub, msg, unhex(block["sig"], 64)):
            return "block.signature"
        self.height += 1
        self.last_hash = sha256(msg)
        self.last_time = h["time"]
        return None


# ---------------------------------------------------------------------------
# §8 C2SP signed notes, checkpoints, cosignatures
# ---------------------------------------------------------------------------

EM_DASH = "\u2014"


def note_key_id(name: str, typ: int, pub: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([typ]) + pub)[:4]


def check_key_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise ValueError(f"note.bad_key_name: {name!r}")


def parse_vkey(vkey: str):
    """`<name>+<hex key id>+base64(type || key)` -> (name, key_id, type, key).
    The name cannot contain '+', but the base64 part may: split twice only."""
    name, kid_hex, b64 = vkey.split("+", 2)
    check_key_name(name)
    kid = unhex(kid_hex, 4)
    raw = b64decode_strict(b64)
    typ, key = raw[0], raw[1:]
    if len(key) != 32 or typ not in (0x01, 0x04):
        raise ValueError("note.bad_vkey")
    if note_key_id(name, typ, key) != kid:
        raise ValueError("note.bad_vkey: key id mismatch")
    return name, kid, typ, key


def parse_note(note: str):
    """§8.1: returns (text, [(name, key_id, sig_bytes), ...])."""
    raw = note.encode("utf-8")
    if len(raw) > 65536:
        raise ValueError("note.too_large")
    # "ASCII control characters" read as U+0000-U+001F and U+007F (DEL).
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F or c == "\ufeff"
           for c in note):
        raise ValueError("note.malformed: control character or BOM")
    i = note.rfind("\n\n")
    if i < 0:
        raise ValueError("note.malformed: no signature block")
    text, sigblock = note[: i + 1], note[i + 2:]
    if not text.endswith("\n") or any(line == "" for line in text[:-1].split("\n")):
        raise ValueError("note.malformed: empty text line")
    if not sigblock.endswith("\n"):
        raise ValueError("note.malformed: signature block not newline-terminated")
    lines = sigblock[:-1].split("\n")
    if not 1 <= len(lines) <= 100:
        raise ValueError("note.malformed: signature line count")
    sigs = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise ValueError(f"note.bad_signature_line: {line!r}")
        name, sep, b64 = line[2:].partition(" ")
        if not sep:
            raise ValueError(f"note.bad_signature_line: {line!r}")
        check_key_name(name)
        blob = b64decode_strict(b64)
        if len(blob) < 5:
            raise ValueError("note.bad_signature_line: too short")
        sigs.append((name, blob[:4], blob[4:]))
    return text, sigs


def cosignature_message(text: str, timestamp: int) -> bytes:
    """§8.4: "cosignature/v1\\ntime <ts>\\n" || note text."""
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def verify_note_sig(vk, text: str, sig: bytes):
    """Verify one signature line against a parsed vkey. Returns the cosignature
    timestamp for type 0x04, True for a valid 0x01 signature, False otherwise."""
    _name, _kid, typ, key = vk
    if typ == 0x01:
        return len(sig) == 64 and verify_zip215(key, text.encode(), sig)
    if typ == 0x04:
        if len(sig) != 72:
            return False
        ts = int.from_bytes(sig[:8], "big")
        if ts > 2**63 - 1:
            return False
        return ts if verify_zip215(key, cosignature_message(text, ts), sig[8:]) else False
    return False


def parse_checkpoint_body(text: str):
    """§8.3: origin, size, base64 root, extension lines."""
    lines = text.split("\n")
    if lines[-1] != "" or len(lines) < 4:
        raise ValueError("checkpoint.malformed")
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size_s):
        raise ValueError("checkpoint.malformed: size")
    root = b64decode_strict(root_b64)
    if len(root) != 32:
        raise ValueError("checkpoint.malformed: root length")
    return origin, int(size_s), root, lines[3:-1]


def verify_checkpoint(note: str, origin: str, log_vkey, witness_vkeys, quorum: int):
    """§8.5. Returns (None, parsed) when accepted, else (error code, None)."""
    try:
        text, sigs = parse_note(note)
        body = parse_checkpoint_body(text)
    except ValueError as e:
        return str(e), None
    if body[0] != origin:
        return "checkpoint.wrong_origin", None
    log_ok, witnesses = False, set()
    for name, kid, sig in sigs:
        for vk in [log_vkey, *witness_vkeys]:
            if (vk[0], vk[1]) != (name, kid):
                continue  # unknown lines are ignored
            res = verify_note_sig(vk, text, sig)
            if res is False:
                return "note.invalid_signature", None
            if vk is log_vkey:
                log_ok = True
            else:
                witnesses.add(vk[0])
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
    """`field<spaces>value` lines; the value is the rest of the line."""
    out = {}
    for line in raw.split("\n"):
        m = re.match(r"^(\S+) +(.*)$", line)
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
            if g == want:
                return None
            if isinstance(g, bytes) and isinstance(want, bytes):
                i = next((i for i, (a, b) in enumerate(zip(g, want)) if a != b), min(len(g), len(want)))
                return (f"{len(g)} vs {len(want)} bytes, first difference at byte {i}: "
                        f"got {_show(g[i:])}, want {_show(want[i:])}")
            return f"got {_show(g)}, want {_show(want)}"
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
    elif isinstance(v, list) and all(isinstance(i, bytes) for i in v):
        v = ",".join(i.hex() for i in v)
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


def flip(b: bytes, i: int = 0) -> bytes:
    """Flip the low bit of byte i (negative index allowed)."""
    a = bytearray(b)
    a[i] ^= 0x01
    return bytes(a)


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------

def self_tests(c: Checker) -> None:
    """Sanity of the primitives against known published values."""
    # RFC 8785 §3.2.2.3 / §3.2.3 examples
    c.eq("self/jcs rfc8785 sample",
         lambda: jcs(parse_strict(
             '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
             ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
             ' "literals": [null, true, false]}')),
         '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
         '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode())
    c.eq("self/jcs utf-16 key order",
         lambda: jcs(parse_strict(
             '{"\\u20ac":1,"\\r":2,"\\ufb33":3,"1":4,"\\ud83d\\ude00":5,"\\u0080":6,"\\u00f6":7}')),
         '{"\\r":2,"1":4,"\u0080":6,"ö":7,"€":1,"\U0001F600":5,"\ufb33":3}'.encode())
    c.eq("self/jcs numbers",
         lambda: [es_number_to_string(x) for x in
                  (-0.0, 1e21, 1e20, 123.456, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308, -1.5)],
         ["0", "1e+21", "100000000000000000000", "123.456", "0.000001", "1e-7",
          "5e-324", "1.7976931348623157e+308", "-1.5"])
    c.eq("self/jcs integers", lambda: jcs(parse_strict("[-0, 9007199254740991, -9007199254740991]")),
         b"[0,9007199254740991,-9007199254740991]")
    for label, doc in [("duplicate key", '{"a":1,"a":2}'),
                       ("integer out of range", "9007199254740992"),
                       ("unpaired surrogate", '"\\ud800"'),
                       ("trailing data", "{} x"),
                       ("NaN", "NaN"),
                       ("too deep", "[" * 65 + "]" * 65)]:
        c.rejects(f"self/strict json rejects {label}", lambda d=doc: parse_strict(d))
    c.check("self/strict json accepts depth 64", lambda: parse_strict("[" * 64 + "]" * 64) is not None)
    # RFC 8032 §7.1 TEST 1
    seed1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pub1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig1 = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                         "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    c.eq("self/ed25519 rfc8032 test 1 key", lambda: pubkey_from_seed_pure(seed1), pub1)
    c.check("self/ed25519 rfc8032 test 1 verifies", lambda: verify_zip215(pub1, b"", sig1))
    c.rejects("self/ed25519 rfc8032 test 1 tampered", lambda: verify_zip215(pub1, b"x", sig1))
    # Merkle: frontier and MTH agree for many sizes; inclusion/consistency
    # proofs generated by the RFC 9162 §2.1.3.1/§2.1.4.1 definitions verify.
    def merkle_selftest():
        leaves = [bytes([i]) for i in range(17)]
        fr = Frontier()
        for n in range(1, 18):
            fr.append(leaves[n - 1])
            if fr.root() != mth(leaves[:n]):
                return f"frontier root differs at size {n}"
            for m in range(n):
                err = verify_inclusion(m, n, leaf_hash(leaves[m]), gen_path(m, leaves[:n]), mth(leaves[:n]))
                if err:
                    return f"inclusion {m}/{n}: {err}"
            for m in range(1, n + 1):
                err = verify_consistency(m, n, mth(leaves[:m]), mth(leaves[:n]),
                                         gen_proof(m, leaves[:n], True))
                if err:
                    return f"consistency {m}->{n}: {err}"
        return None
    c.check("self/merkle proofs sizes 1..17", merkle_selftest)


def gen_path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) (used only for self-tests)."""
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return gen_path(m, d[:k]) + [mth(d[k:])]
    return gen_path(m - k, d[k:]) + [mth(d[:k])]


def gen_proof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b) (used only for self-tests)."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return gen_proof(m, d[:k], b) + [mth(d[k:])]
    return gen_proof(m - k, d[k:], False) + [mth(d[:k])]


def check_examples(c: Checker, doc: str) -> None:
    """Run every section; a section that cannot even be parsed is reported
    as one failure and the later sections still run (they may then fail on
    the values they needed from it)."""
    x = SimpleNamespace(doc=doc)
    for name, section in [("extract", sec_extract), ("official-key", sec_official_key),
                          ("tx", sec_tx), ("block", sec_block), ("merkle", sec_merkle),
                          ("checkpoint", sec_checkpoint), ("ed25519-edges", sec_edges)]:
        try:
            section(c, x)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            c.check(f"{name}/section", lambda e=e: f"{type(e).__name__}: {e}")


def sec_extract(c: Checker, x) -> None:
    doc = x.doc
    x.ex = ex = extract_examples(doc)
    expected = ["official-key", "tx", "block", "merkle", "checkpoint-keys",
                "checkpoint-note", "ed25519-edges"]
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


def sec_tx(c: Checker, x) -> None:
    """§4 and §5: the transaction, its id and its log leaf."""
    ex, ok, seed, pub = x.ex, x.ok, x.seed, x.pub
    x.tx = tx = parse_fields(ex["tx"]["raw"])
    body_jcs = tx["body_jcs"].encode("utf-8")
    body = parse_strict(tx["body_jcs"])
    x.chain_id = chain_id = body["chain_id"]
    x.tag = tag = f"govchain/v1/tx/{chain_id}"
    signed = tagged(tag, body_jcs)
    x.sig = sig = unhex(tx["sig"], 64)
    c.check("tx/body shape and types (§5.1)", lambda: check_body_shape(body))
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
    c.eq("tx/leaf_jcs = JCS(envelope)", lambda: jcs(envelope), leaf)
    c.eq("tx/leaf_jcs parses to the envelope", lambda: parse_strict(tx["leaf_jcs"]), envelope)
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


def sec_block(c: Checker, x) -> None:
    """§7: the genesis block holding the tx example."""
    ex, labels, chain_id, tx, envelope, leaf, sig = x.ex, x.labels, x.chain_id, x.tx, x.envelope, x.leaf, x.sig
    bk = parse_fields(ex["block"]["raw"])
    x.node_pub = node_pub = unhex(bk["node_key"], 32)
    header_jcs = bk["header_jcs"].encode("utf-8")
    header = parse_strict(bk["header_jcs"])
    block_msg = tagged(f"govchain/v1/block/{header['chain_id']}", header_jcs)
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
    c.eq("block/neg: §7.3 wrong chain", lambda: ChainVerifier("other", nodes).apply(block), "block.wrong_chain")
    c.eq("block/neg: §7.3 unknown proposer", lambda: ChainVerifier(chain_id, {}).apply(block),
         "block.unknown_proposer")
    c.eq("block/neg: §7.3 tampered tx", lambda: ChainVerifier(chain_id, nodes).apply(
        {**block, "txs": [{**envelope, "sig": flip(sig, 3).hex()}]}), "block.tx_root")
    c.eq("block/neg: §7.3 flipped sig", lambda: ChainVerifier(chain_id, nodes).apply(
        {**block, "sig": flip(bsig, 3).hex()}), "block.signature")


def sec_merkle(c: Checker, x) -> None:
    """§6: roots at sizes 1-3, inclusion and consistency proofs."""
    ex, tx, leaf = x.ex, x.tx, x.leaf
    mk = parse_fields(ex["merkle"]["raw"])
    leaves = [leaf, unhex(mk["leaf_1"]), unhex(mk["leaf_2"])]
    c.eq("merkle/leaf_1 = ASCII 'second leaf'", leaves[1], b"second leaf")
    c.eq("merkle/leaf_2 = ASCII 'third leaf'", leaves[2], b"third leaf")
    x.roots = roots = {n: unhex(mk[f"root_{n}"], 32) for n in (1, 2, 3)}
    for n in (1, 2, 3):
        c.eq(f"merkle/root_{n} = MTH(leaves[:{n}])", lambda n=n: mth(leaves[:n]), roots[n])
    c.eq("merkle/root_1 = tx leaf hash", mk["root_1"], tx["leaf_hash"])
    fr = Frontier()
    for lf in leaves:
        fr.append(lf)
    c.eq("merkle/frontier root at size 3", lambda: fr.root(), roots[3])
    incl = [unhex(h, 32) for h in mk["incl_0_in_3"].split(",")]
    cons = [unhex(h, 32) for h in mk["cons_2_to_3"].split(",")]
    c.eq("merkle/incl_0_in_3 = RFC 9162 PATH(0, D[3])", lambda: gen_path(0, leaves), incl)
    c.eq("merkle/cons_2_to_3 = RFC 9162 PROOF(2, D[3])", lambda: gen_proof(2, leaves, True), cons)
    c.check("merkle/inclusion proof verifies (RFC 9162 §2.1.3.2)",
            lambda: verify_inclusion(0, 3, leaf_hash(leaf), incl, roots[3]))
    c.check("merkle/consistency proof verifies (RFC 9162 §2.1.4.2)",
            lambda: verify_consistency(2, 3, roots[2], roots[3], cons))
    c.rejects("merkle/neg: flipped inclusion path element",
              lambda: verify_inclusion(0, 3, leaf_hash(leaf), [incl[0], flip(incl[1], 4)], roots[3]))
    c.rejects("merkle/neg: inclusion against wrong index",
              lambda: verify_inclusion(1, 3, leaf_hash(leaf), incl, roots[3]))
    c.rejects("merkle/neg: inclusion path too long",
              lambda: verify_inclusion(0, 3, leaf_hash(leaf), incl + [incl[0]], roots[3]))
    c.rejects("merkle/neg: flipped root_3",
              lambda: verify_inclusion(0, 3, leaf_hash(leaf), incl, flip(roots[3], 0)))
    c.rejects("merkle/neg: flipped consistency path",
              lambda: verify_consistency(2, 3, roots[2], roots[3], [flip(cons[0], 2)]))
    c.rejects("merkle/neg: consistency with flipped root_2",
              lambda: verify_consistency(2, 3, flip(roots[2], 1), roots[3], cons))
    c.eq("merkle/neg: consistency from size 0", lambda: verify_consistency(0, 3, sha256(b""), roots[3], cons),
         "proof.empty_tree")
    c.eq("merkle/neg: consistency sizes reversed", lambda: verify_consistency(3, 2, roots[3], roots[2], cons),
         "proof.sizes_reversed")


def sec_checkpoint(c: Checker, x) -> None:
    """§8: vkeys, the signed note, the checkpoint body and the cosignature."""
    ex, labels, doc, chain_id = x.ex, x.labels, x.doc, x.chain_id
    node_pub, node_seed, roots = x.node_pub, x.node_seed, x.roots
    ck = parse_fields(ex["checkpoint-keys"]["raw"])
    log_vk = parse_vkey(ck["log_vkey"])
    wit_vk = parse_vkey(ck["witness_vkey"])
    c.check("checkpoint-keys/log vkey key id (type 0x01)", lambda: log_vk[2] == 0x01)
    c.check("checkpoint-keys/witness vkey key id (type 0x04)", lambda: wit_vk[2] == 0x04)
    c.eq("checkpoint-keys/log key = block node_key", log_vk[3], node_pub)
    c.eq("checkpoint-keys/witness key from witness label seed",
         lambda: pubkey_from_seed_pure(sha256(labels["witness"].encode())), wit_vk[3])

    def vkey_with_flipped_id(vkey: str) -> str:
        name, kid, rest = vkey.split("+", 2)
        return f"{name}+{flip(unhex(kid)).hex()}+{rest}"
    c.rejects("checkpoint-keys/neg: wrong log key id rejected",
              lambda: parse_vkey(vkey_with_flipped_id(ck["log_vkey"])))
    c.rejects("checkpoint-keys/neg: wrong witness key id rejected",
              lambda: parse_vkey(vkey_with_flipped_id(ck["witness_vkey"])))

    # The fenced block cannot show the final newline of the note: restore it.
    note = ex["checkpoint-note"]["raw"] + "\n"
    text, sigs = parse_note(note)
    origin, size, root, ext = parse_checkpoint_body(text)
    c.eq("checkpoint-note/origin", origin, f"govchain.example/{chain_id}")
    c.eq("checkpoint-note/size", size, 3)
    c.eq("checkpoint-note/root = merkle root_3", root, roots[3])
    c.eq("checkpoint-note/no extension lines", ext, [])
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
         lambda: sign_rfc8032(sha256(labels["witness"].encode()), cosignature_message(text, ts_doc)), cosig[8:])
    c.check("checkpoint-note/accepted by §8.5 (quorum 1)",
            lambda: verify_checkpoint(note, f"govchain.example/{chain_id}", log_vk, [wit_vk], 1)[0])
    c.rejects("checkpoint-note/neg: flipped log signature",
              lambda: verify_note_sig(log_vk, text, flip(log_sig, 10)))
    c.rejects("checkpoint-note/neg: flipped cosignature",
              lambda: verify_note_sig(wit_vk, text, flip(cosig, 20)))
    c.rejects("checkpoint-note/neg: flipped cosignature timestamp",
              lambda: verify_note_sig(wit_vk, text, flip(cosig, 7)))
    c.rejects("checkpoint-note/neg: cosignature over log message",
              lambda: verify_zip215(wit_vk[3], text.encode(), cosig[8:]))
    c.rejects("checkpoint-note/neg: flipped root in text",
              lambda: verify_note_sig(log_vk, text.replace(text.split("\n")[2], base64.b64encode(
                  flip(roots[3], 0)).decode()), log_sig))
    c.eq("checkpoint-note/neg: wrong origin",
         lambda: verify_checkpoint(note, "govchain.example/other", log_vk, [wit_vk], 1)[0],
         "checkpoint.wrong_origin")
    c.eq("checkpoint-note/neg: quorum 2 not met",
         lambda: verify_checkpoint(note, origin, log_vk, [wit_vk], 2)[0], "checkpoint.quorum_not_met")
    c.eq("checkpoint-note/neg: missing log signature",
         lambda: verify_checkpoint(note.replace(EM_DASH + " " + log_vk[0] + " ", EM_DASH + " x.example ", 1),
                                   origin, log_vk, [wit_vk], 1)[0], "checkpoint.missing_log_signature")


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
    """The rows are what their names say (descriptive checks on the table)."""
    def order_kind(enc: bytes) -> str:
        p = pt_decode_zip215(enc)
        if pt_eq(pt_mul(8, p), IDENTITY):
            return "small"
        return "prime" if pt_eq(pt_mul(L, p), IDENTITY) else "mixed"

    expect = {
        "honest": lambda p, s: verify_rfc8032_lib(p, msg, s),
        "non-canonical-s": lambda p, s: (int.from_bytes(s[32:], "little") >= L
                                         and verify_rfc8032_lib(p, msg, s[:32] + (
                                             int.from_bytes(s[32:], "little") - L).to_bytes(32, "little"))),
        "mixed-order-r": lambda p, s: order_kind(s[:32]) == "mixed",
        "mixed-order-a": lambda p, s: order_kind(p) == "mixed",
        "small-order-a": lambda p, s: order_kind(p) == "small",
        "non-canonical-a": lambda p, s: pt_encode(pt_decode_zip215(p)) != p,
        "small-order-r-and-a": lambda p, s: order_kind(p) == "small" and order_kind(s[:32]) == "small",
    }
    for name, (p, s) in cases.items():
        if name in expect:
            c.check(f"ed25519-edges/{name}: row matches its description", lambda f=expect[name], p=p, s=s: f(p, s))


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent / "PROTOCOL.md"
    path = Path(argv[1]) if len(argv) > 1 else default
    doc = path.read_text(encoding="utf-8")
    c = Checker()
    self_tests(c)
    check_examples(c, doc)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
