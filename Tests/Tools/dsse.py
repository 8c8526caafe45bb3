"""An independent DSSE verifier and signer for Warden's tests, built on securesystemslib (PyPI).

  dsse.py verify ENVELOPE PUBLIC.pem     verifies with the key; keyid = SHA-256 of the SPKI DER
  dsse.py sign PRIVATE.pem FINDINGS.json OUT   signs an in-toto statement carrying FINDINGS

Nothing here uses Warden's code: the keyid, the statement and the subject are computed from the
published formats (DSSE, in-toto Statement v1, README "Signed findings").
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import (
    Encoding, PublicFormat, load_pem_private_key, load_pem_public_key)
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey


def keyid(public_key):
    return hashlib.sha256(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def verify(envelope_path, public_path):
    with open(envelope_path) as f:
        envelope = Envelope.from_dict(json.load(f))
    with open(public_path, "rb") as f:
        public_key = load_pem_public_key(f.read())
    key = SSlibKey.from_crypto(public_key, keyid=keyid(public_key))
    envelope.verify([key], 1)  # raises VerificationError unless the signature by this keyid verifies
    statement = json.loads(envelope.payload)
    print("verified", envelope.payload_type, statement["_type"], statement["predicateType"], key.keyid)


def sign(private_path, findings_path, out_path):
    with open(private_path, "rb") as f:
        private_key = load_pem_private_key(f.read(), password=None)
    public_key = private_key.public_key()
    signer = CryptoSigner(private_key, SSlibKey.from_crypto(public_key, keyid=keyid(public_key)))
    with open(findings_path) as f:
        findings = json.load(f)
    host = findings["host"]
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://warden.dev/findings/v1",
        "subject": [{"name": host["hostname"],
                     "digest": {"sha256": hashlib.sha256(host["machine_id"].encode()).hexdigest()}}],
        "predicate": findings,
    }
    envelope = Envelope(json.dumps(statement, indent=1).encode(), "application/vnd.in-toto+json", {})
    envelope.sign(signer)
    with open(out_path, "w") as f:
        json.dump(envelope.to_dict(), f)
    print("signed", keyid(public_key))


if __name__ == "__main__":
    {"verify": verify, "sign": sign}[sys.argv[1]](*sys.argv[2:])
