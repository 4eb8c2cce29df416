"""Keys and a sample credential for the badges tests (no database, no Flask)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from badges.credential import Award, build_credential, build_profile, subject_id
from competencies.framework import Framework, load_framework

BASE = "https://tool.example.org"
ISSUER_ID = f"{BASE}/credentials/issuer"
CREDENTIAL_ID = f"{BASE}/credentials/0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"


@dataclass(frozen=True)
class KeyPair:
    """An RSA key as the tool keeps one: the kid URI, the private PEM and the public JWK."""

    kid: str
    private_pem: str
    public_pem: str
    jwk: dict[str, Any]


def make_key(kid: str) -> KeyPair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    return KeyPair(kid, pem, public_pem, {**jwk, "alg": "RS256", "use": "sig"})


@functools.cache
def first_key() -> KeyPair:
    """The tool's key in these tests (made once: RSA key generation takes a moment)."""
    return make_key(f"{BASE}/credentials/keys/first")


@functools.cache
def other_key() -> KeyPair:
    """Somebody else's key."""
    return make_key(f"{BASE}/credentials/keys/someone-else")


def keys() -> dict[str, dict[str, Any]]:
    """The key set a verifier of the tool's credentials uses: the tool's key by its kid."""
    return {first_key().kid: first_key().jwk}


def framework() -> Framework:
    return load_framework()


def sample_award(level: int | None = None, name: str | None = "Ana Novak") -> Award:
    fw = framework()
    return Award(CREDENTIAL_ID, subject_id("4f2d9c0a6b1e8d3f5a7c9e1b3d5f7a9c"), fw, fw.competencies()[0],
                 level or fw.scale.proficient_level,
                 dt.datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=dt.UTC), name)


def sample_credential(award: Award | None = None) -> dict[str, Any]:
    issuer = build_profile(ISSUER_ID, "Learning 2 Innovate", BASE)
    return build_credential(award or sample_award(), issuer, f"{CREDENTIAL_ID}/status", BASE)
