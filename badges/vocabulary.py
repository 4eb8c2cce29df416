"""Open Badges 3.0, CLR 2.0 and Verifiable Credentials vocabulary: contexts, types, terms and JWT claims.

Every JSON-LD context, type name, enumerated term and JWT claim name the credentials use is a
constant here; nothing else in the code spells them out. Sources:

- Open Badges 3.0 (Final, https://www.imsglobal.org/spec/ob/v3p0/): the contexts and the
  ``credentialSchema`` of §5 "Document Formats", the data model of Appendix B (Achievement,
  Alignment, ResultDescription, RubricCriterionLevel, Result, IdentityObject, Profile and the
  AchievementType, AlignmentTargetType and ResultType vocabularies), and §8.2 "JSON Web Token Proof
  Format" for the JOSE header and the JWT claims.
- Comprehensive Learner Record 2.0 (https://www.imsglobal.org/spec/clr/v2p0/): ClrCredential,
  ClrSubject and the GetClrCredentialsResponse payload.
- 1EdTech Revocation List Status Method 1.0 (https://www.imsglobal.org/spec/vcrl/v1p0/).
"""

from __future__ import annotations

from typing import Final

# JSON-LD contexts, in the order the specifications require (VC Data Model 2.0 first).
CONTEXT_VC_V2: Final = "https://www.w3.org/ns/credentials/v2"
CONTEXT_OB_V3: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXT_CLR_V2: Final = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB_CONTEXTS: Final = (CONTEXT_VC_V2, CONTEXT_OB_V3)
CLR_CONTEXTS: Final = (CONTEXT_VC_V2, CONTEXT_CLR_V2, CONTEXT_OB_V3)
PROFILE_CONTEXTS: Final = (CONTEXT_OB_V3,)

# JSON schemas the credentials declare in ``credentialSchema``.
SCHEMA_VALIDATOR: Final = "1EdTechJsonSchemaValidator2019"
SCHEMA_OB_ACHIEVEMENT_CREDENTIAL: Final = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
SCHEMA_CLR_CREDENTIAL: Final = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)

# Types (the ``type`` sets of the objects).
TYPE_VERIFIABLE_CREDENTIAL: Final = "VerifiableCredential"
TYPE_OPEN_BADGE_CREDENTIAL: Final = "OpenBadgeCredential"
TYPE_ACHIEVEMENT_CREDENTIAL: Final = "AchievementCredential"   # an alias of OpenBadgeCredential
TYPE_ACHIEVEMENT_SUBJECT: Final = "AchievementSubject"
TYPE_ACHIEVEMENT: Final = "Achievement"
TYPE_ALIGNMENT: Final = "Alignment"
TYPE_RESULT: Final = "Result"
TYPE_RESULT_DESCRIPTION: Final = "ResultDescription"
TYPE_RUBRIC_CRITERION_LEVEL: Final = "RubricCriterionLevel"
TYPE_IDENTITY_OBJECT: Final = "IdentityObject"
TYPE_PROFILE: Final = "Profile"
TYPE_CLR_CREDENTIAL: Final = "ClrCredential"
TYPE_CLR_SUBJECT: Final = "ClrSubject"
BADGE_TYPES: Final = frozenset({TYPE_OPEN_BADGE_CREDENTIAL, TYPE_ACHIEVEMENT_CREDENTIAL})

# Enumerated terms.
ACHIEVEMENT_TYPE_COMPETENCY: Final = "Competency"              # AchievementType
TARGET_TYPE_CF_ITEM: Final = "CFItem"                          # AlignmentTargetType: a CASE item
TARGET_TYPE_CF_RUBRIC_CRITERION: Final = "CFRubricCriterion"   # AlignmentTargetType: a CASE criterion
RESULT_TYPE_RUBRIC_CRITERION_LEVEL: Final = "RubricCriterionLevel"  # ResultType
IDENTIFIER_TYPE_NAME: Final = "name"                           # IdentifierTypeEnum

# Credential status: the 1EdTech Revocation List Status Method.
STATUS_REVOCATION_LIST: Final = "1EdTechRevocationList"
REVOKED_CREDENTIALS: Final = "revokedCredentials"   # the list's member holding RevokedCredential entries
REVOCATION_REASON: Final = "revocationReason"

# CLR 2.0 API: the GetClrCredentialsResponse member carrying compact JWS strings.
COMPACT_JWS_STRING: Final = "compactJwsString"

# VC-JWT (OB 3.0 §8.2): the JOSE header and the registered claims mapped from the credential.
JWT_ALGORITHM: Final = "RS256"   # the only algorithm this tool signs with or accepts
JWT_TYPE: Final = "JWT"
HEADER_ALG: Final = "alg"
HEADER_KID: Final = "kid"
HEADER_TYP: Final = "typ"
CLAIM_ISS: Final = "iss"   # issuer.id
CLAIM_SUB: Final = "sub"   # credentialSubject.id
CLAIM_JTI: Final = "jti"   # id
CLAIM_NBF: Final = "nbf"   # validFrom
CLAIM_EXP: Final = "exp"   # validUntil
CLAIM_VC: Final = "vc"     # VC Data Model 1.1 credentials carry the credential in this claim instead
REGISTERED_CLAIMS: Final = frozenset({CLAIM_ISS, CLAIM_SUB, CLAIM_JTI, CLAIM_NBF, CLAIM_EXP, "iat", "aud"})
