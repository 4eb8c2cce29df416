"""Compact JWS serialisation with full control of the header, for honest and hostile tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from jwt.algorithms import get_default_algorithms


def b64url(data: bytes) -> str:
    """Encode base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url, padding or not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value: Any) -> bytes:
    """Serialise JSON without spaces, as UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_jws(header: Mapping[str, Any], claims: Mapping[str, Any], alg: str, key: Any) -> str:
    """Serialise a compact JWS, signing with ``alg`` whatever the header says.

    ``alg="none"`` gives an unsigned token. HMAC algorithms take any bytes as the
    key (a PEM public key too, for algorithm-confusion tests); the others take a
    private key object or PEM.
    """
    signing_input = f"{b64url(compact_json(dict(header)))}.{b64url(compact_json(dict(claims)))}"
    if alg == "none":
        return signing_input + "."
    algorithms = get_default_algorithms()
    if alg not in algorithms:
        raise ValueError(f"unsupported JWS algorithm {alg!r}")
    algorithm = algorithms[alg]
    if alg.startswith("HS"):
        if not isinstance(key, bytes | str):
            raise ValueError(f"{alg} needs the key as bytes")
        secret = key.encode("utf-8") if isinstance(key, str) else key
        signature = algorithm.sign(signing_input.encode("ascii"), secret)
    else:
        signature = algorithm.sign(signing_input.encode("ascii"), algorithm.prepare_key(key))
    return f"{signing_input}.{b64url(signature)}"
