"""VC-JWT signing and verification of Open Badges 3.0 and CLR 2.0 credentials (OB 3.0 §8.2); no DB, no Flask.

- **JOSE header**: ``alg`` RS256, ``typ`` JWT and ``kid``, a URI that dereferences to the public JWK
  (OB 3.0 §8.2.3 "Create the JOSE Header"; no other header is added).
- **JWT payload**: the credential itself, with the registered claims mapped from it: ``iss`` =
  ``issuer.id``, ``jti`` = ``id``, ``nbf`` = ``validFrom``, ``sub`` = ``credentialSubject.id`` and
  ``exp`` = ``validUntil`` when there is one (OB 3.0 §8.2.4 "JWT Payload Format", VC Data Model
  2.0). A credential made under VC Data Model 1.1 carries the credential in a ``vc`` claim instead;
  :func:`credential_of` reads both, as §8.2.6 "Verify a Credential" asks.
- **Verification** accepts RS256 only, and only with the keys it is given, looked up by ``kid``:
  an ``alg`` of ``none``, HS256 (a public key used as an HMAC secret) or anything else is refused
  before any cryptography runs. :func:`verify_token` says which check failed in a
  :class:`SignatureCheck`; the application turns that into words.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from badges import vocabulary as v
from badges.credential import issuer_id_of
from competencies.framework import parse_utc

Json = dict[str, Any]

COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
CLOCK_SKEW = dt.timedelta(seconds=60)
PUBLIC_JWK_FIELDS = ("kty", "n", "e", "kid", "alg", "use")


class Outcome(StrEnum):
    """The first check a presented token failed, or VALID."""

    VALID = "valid"
    UNREADABLE = "unreadable"    # not a compact JWS, or its header or payload is not a JSON object
    ALGORITHM = "algorithm"      # ``alg`` is not RS256 (``none``, HS256...)
    UNKNOWN_KEY = "unknown_key"  # no ``kid``, or a ``kid`` that is not one of the keys given
    SIGNATURE = "signature"      # the ``kid`` is known, but the signature does not verify with it
    CLAIMS = "claims"            # signed, but iss/sub/jti/nbf/exp disagree with the credential or its dates


class UnreadableTokenError(ValueError):
    """Text that is not a compact JWS with a JSON object as header and payload."""


@dataclass(frozen=True)
class SignatureCheck:
    """What :func:`verify_token` found; ``header`` and ``payload`` are there whenever they were readable."""

    outcome: Outcome
    header: Json | None = None
    payload: Json | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return self.outcome is Outcome.VALID

    @property
    def kid(self) -> str | None:
        """The ``kid`` of the JOSE header, if it has one."""
        kid = (self.header or {}).get(v.HEADER_KID)
        return kid if isinstance(kid, str) else None

    @property
    def algorithm(self) -> str | None:
        """The ``alg`` of the JOSE header, as text (whatever it was)."""
        alg = (self.header or {}).get(v.HEADER_ALG)
        return None if alg is None else str(alg)

    @property
    def credential(self) -> Json | None:
        """The credential the payload carries (see :func:`credential_of`)."""
        return credential_of(self.payload) if self.payload is not None else None


def numeric_date(value: dt.datetime) -> int:
    """Return a JWT NumericDate (whole seconds since the epoch) for an aware datetime."""
    return int(value.timestamp())


def jwt_payload(credential: Json) -> Json:
    """Return the JWT payload: the credential plus ``iss``, ``jti``, ``nbf``, ``sub`` (and ``exp``)."""
    payload = dict(credential)
    payload[v.CLAIM_ISS] = issuer_id_of(credential)
    payload[v.CLAIM_JTI] = credential["id"]
    payload[v.CLAIM_NBF] = numeric_date(parse_utc(credential["validFrom"]))
    payload[v.CLAIM_SUB] = credential["credentialSubject"]["id"]
    if "validUntil" in credential:
        payload[v.CLAIM_EXP] = numeric_date(parse_utc(credential["validUntil"]))
    return payload


def sign_credential(credential: Json, kid: str, private_key_pem: str) -> str:
    """Sign ``credential`` as a VC-JWT (RS256) and return the compact JWS; ``kid`` is the key's URI."""
    return jwt.encode(jwt_payload(credential), private_key_pem, algorithm=v.JWT_ALGORITHM,
                      headers={v.HEADER_KID: kid, v.HEADER_TYP: v.JWT_TYPE})


def _segment(text: str) -> Json:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:  # bad base64, UTF-8 or JSON
        problem = f"a segment is not base64url-encoded JSON ({type(exc).__name__})"
        raise UnreadableTokenError(problem) from None
    if not isinstance(decoded, dict):
        raise UnreadableTokenError("a segment is JSON but not an object")
    return decoded


def decode_unverified(token: str) -> tuple[Json, Json]:
    """Return a compact JWS's header and payload, unchecked; :class:`UnreadableTokenError` if unreadable."""
    if not COMPACT_JWS.match(token):
        raise UnreadableTokenError("not three base64url segments separated by dots")
    header, payload, _signature = token.split(".")
    return _segment(header), _segment(payload)


def credential_of(payload: Json) -> Json:
    """Return the credential in a VC-JWT payload: the ``vc`` claim (VCDM 1.1), else the rest of the claims."""
    legacy = payload.get(v.CLAIM_VC)
    if isinstance(legacy, dict):
        return legacy
    return {name: value for name, value in payload.items() if name not in v.REGISTERED_CLAIMS}


def _date_of(credential: Json, *names: str) -> dt.datetime | None:
    for name in names:
        if name in credential:
            try:
                return parse_utc(credential[name])
            except ValueError:
                return None
    return None


def _subject_id(credential: Json) -> object:
    subject = credential.get("credentialSubject")
    return subject.get("id") if isinstance(subject, dict) else None


def _numeric(payload: Json, claim: str) -> int | None:
    value = payload.get(claim)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date_problems(payload: Json, credential: Json, now: dt.datetime) -> list[str]:
    problems: list[str] = []
    nbf, valid_from = _numeric(payload, v.CLAIM_NBF), _date_of(credential, "validFrom", "issuanceDate")
    if nbf is None or valid_from is None or nbf != numeric_date(valid_from):
        problems.append("nbf is missing or differs from validFrom")
    elif valid_from > now + CLOCK_SKEW:
        problems.append("validFrom is in the future")
    exp, valid_until = _numeric(payload, v.CLAIM_EXP), _date_of(credential, "validUntil", "expirationDate")
    if v.CLAIM_EXP in payload and (exp is None or (valid_until and exp != numeric_date(valid_until))):
        problems.append("exp is not a date or differs from validUntil")
    elif exp is not None and exp <= numeric_date(now - CLOCK_SKEW):
        problems.append("the credential has expired")
    return problems


def claim_problems(payload: Json, now: dt.datetime | None = None) -> list[str]:
    """Return how a payload's claims disagree with its credential (OB 3.0 §8.2.6.1); empty when they agree."""
    credential = credential_of(payload)
    problems: list[str] = []
    if not payload.get(v.CLAIM_ISS) or payload.get(v.CLAIM_ISS) != issuer_id_of(credential):
        problems.append("iss is missing or differs from issuer.id")
    if not payload.get(v.CLAIM_SUB) or payload.get(v.CLAIM_SUB) != _subject_id(credential):
        problems.append("sub is missing or differs from credentialSubject.id")
    if not payload.get(v.CLAIM_JTI) or payload.get(v.CLAIM_JTI) != credential.get("id"):
        problems.append("jti is missing or differs from id")
    return problems + _date_problems(payload, credential, now or dt.datetime.now(dt.UTC))


def _signature_verifies(token: str, jwk: Json) -> bool:
    key = RSAAlgorithm.from_jwk(public_jwk(jwk))
    if not isinstance(key, RSAPublicKey):
        raise jwt.InvalidKeyError("not an RSA public key")
    try:
        jwt.PyJWS().decode_complete(token, key=key, algorithms=[v.JWT_ALGORITHM])
    except jwt.InvalidSignatureError:
        return False
    return True


def verify_token(token: str, keys: Mapping[str, Json], now: dt.datetime | None = None) -> SignatureCheck:
    """Verify a compact JWS against ``keys`` (``kid`` -> public JWK) and check its claims.

    The checks run in order and the first failure is reported: readable, RS256, a known ``kid``,
    the signature, then the claims.
    """
    try:
        header, payload = decode_unverified(token)
    except UnreadableTokenError as exc:
        return SignatureCheck(Outcome.UNREADABLE, problems=(str(exc),))
    if header.get(v.HEADER_ALG) != v.JWT_ALGORITHM:
        return SignatureCheck(Outcome.ALGORITHM, header, payload, (f"alg is {header.get(v.HEADER_ALG)!r}",))
    kid = header.get(v.HEADER_KID)
    jwk = keys.get(kid) if isinstance(kid, str) else None
    if jwk is None:
        return SignatureCheck(Outcome.UNKNOWN_KEY, header, payload, (f"kid {kid!r} is not a known key",))
    try:
        verified = _signature_verifies(token, jwk)
    except jwt.PyJWTError as exc:
        return SignatureCheck(Outcome.UNREADABLE, header, payload, (str(exc),))
    if not verified:
        return SignatureCheck(Outcome.SIGNATURE, header, payload, ("the signature does not verify",))
    problems = claim_problems(payload, now)
    if problems:
        return SignatureCheck(Outcome.CLAIMS, header, payload, tuple(problems))
    return SignatureCheck(Outcome.VALID, header, payload)


_ABSENT = object()


def changed_fields(presented: Json, original: Json) -> tuple[str, ...]:
    """Return the top-level members that differ between two payloads (added, removed or changed), sorted."""
    names = set(presented) | set(original)
    return tuple(sorted(name for name in names
                        if presented.get(name, _ABSENT) != original.get(name, _ABSENT)))


def public_jwk(jwk: Mapping[str, Any]) -> Json:
    """Return only the public members of a JWK (never ``d`` or the other private parts)."""
    return {name: jwk[name] for name in PUBLIC_JWK_FIELDS if name in jwk}
