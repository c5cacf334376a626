"""The key chain: fingerprints against openssl, and following statements from pins."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from riskops.registry.keychain import (
    Statement,
    chain_document,
    fingerprint,
    make_statement,
    parse_chain_document,
    public_pem,
    resolve_trust,
)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def fp(key: ec.EllipticCurvePrivateKey) -> str:
    return fingerprint(key.public_key())


def root(key: ec.EllipticCurvePrivateKey, seq: int = 1) -> Statement:
    return make_statement({"seq": seq, "kind": "root", "key": fp(key),
                           "public_key": public_pem(key.public_key()), "at": "t", "by": "a"},
                          [key])


def rotate(old: ec.EllipticCurvePrivateKey, new: ec.EllipticCurvePrivateKey, seq: int,
           signers: list[ec.EllipticCurvePrivateKey] | None = None) -> Statement:
    return make_statement({"seq": seq, "kind": "rotate", "previous": fp(old), "key": fp(new),
                           "public_key": public_pem(new.public_key()), "at": "t", "by": "a"},
                          signers if signers is not None else [old, new])


def revoke(key: ec.EllipticCurvePrivateKey, seq: int,
           signer: ec.EllipticCurvePrivateKey) -> Statement:
    return make_statement({"seq": seq, "kind": "revoke", "key": fp(key), "reason": "r",
                           "at": "t", "by": "a"}, [signer])


def test_fingerprint_is_the_sha256_of_the_der_key_as_openssl_prints_it(tmp_path) -> None:
    key = _key()
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert fp(key) == "sha256:" + hashlib.sha256(der).hexdigest()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; the hashlib oracle above still ran")
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(key.public_key()))
    digest = subprocess.run(f"openssl pkey -pubin -in {pem} -outform DER | sha256sum",
                            shell=True, capture_output=True, text=True, check=True).stdout
    assert fp(key) == "sha256:" + digest.split()[0]


def test_no_pins_trusts_the_root_and_follows_rotations() -> None:
    a, b, c = _key(), _key(), _key()
    trust = resolve_trust([], [root(a), rotate(a, b, 2), rotate(b, c, 3)], source="db")
    assert set(trust.current) == {fp(c)} and set(trust.known) == {fp(a), fp(b), fp(c)}
    assert trust.problems == () and trust.seq == 3 and trust.root == fp(a)


def test_a_pin_on_a_later_key_skips_what_came_before_it() -> None:
    a, b = _key(), _key()
    trust = resolve_trust([fp(b)], [root(a), rotate(a, b, 2)], source="env")
    assert set(trust.current) == {fp(b)} and fp(a) not in trust.known and not trust.problems


def test_a_rotation_signed_by_the_new_key_alone_is_a_forgery_and_stops_the_walk() -> None:
    a, evil, later = _key(), _key(), _key()
    chain = [root(a), rotate(a, evil, 2, signers=[evil]), rotate(evil, later, 3)]
    trust = resolve_trust([fp(a)], chain, source="env")
    assert set(trust.current) == {fp(a)}
    assert "forged" in trust.problems[0] and "statement 2" in trust.problems[0]


def test_a_rotation_without_proof_of_possession_is_refused() -> None:
    a, b = _key(), _key()
    trust = resolve_trust([], [root(a), rotate(a, b, 2, signers=[a])], source="db")
    assert set(trust.current) == {fp(a)} and "forged" in trust.problems[0]


def test_a_statement_whose_key_does_not_match_its_fingerprint_is_refused() -> None:
    a, b, other = _key(), _key(), _key()
    bad = make_statement({"seq": 2, "kind": "rotate", "previous": fp(a), "key": fp(b),
                          "public_key": public_pem(other.public_key()), "at": "t", "by": "a"},
                         [a, b])
    trust = resolve_trust([], [root(a), bad], source="db")
    assert set(trust.current) == {fp(a)} and "not" in trust.problems[0]


def test_revocation_removes_a_key_and_only_a_trusted_other_key_can_revoke() -> None:
    a, b = _key(), _key()
    chain = [root(a), rotate(a, b, 2), revoke(a, 3, signer=b)]
    trust = resolve_trust([fp(a)], chain, source="env")
    assert set(trust.current) == {fp(b)} and fp(a) in trust.revoked and fp(a) not in trust.known
    stranger = _key()
    ignored = resolve_trust([], [root(a), revoke(a, 2, signer=stranger)], source="db")
    assert set(ignored.current) == {fp(a)} and not ignored.revoked


def test_a_gap_in_the_chain_is_reported() -> None:
    a, b = _key(), _key()
    trust = resolve_trust([], [root(a), rotate(a, b, 3)], source="db")
    assert set(trust.current) == {fp(a)} and "statement 2 is missing" in trust.problems[0]


def test_a_pin_whose_key_is_unknown_is_a_problem_not_a_silent_pass() -> None:
    a = _key()
    trust = resolve_trust(["sha256:" + "0" * 64], [root(a)], source="env")
    assert not trust.current and "no public key is known" in trust.problems[0]


def test_a_new_root_is_the_anchor_without_pins_but_not_for_a_pinned_verifier() -> None:
    a, b = _key(), _key()
    chain = [root(a), root(b, seq=2)]
    assert set(resolve_trust([], chain, source="db").current) == {fp(b)}
    assert set(resolve_trust([fp(a)], chain, source="env").current) == {fp(a)}


def test_chain_document_round_trips_and_keeps_signatures_valid() -> None:
    a, b = _key(), _key()
    chain = [root(a), rotate(a, b, 2)]
    again = parse_chain_document(chain_document(chain), source="chain.json")
    assert [s.body for s in again] == [s.body for s in chain]
    assert set(resolve_trust([], again, source="file").current) == {fp(b)}


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"schema": "x"}', b"\xff",
                                 b'{"schema": "riskops.key-chain/v1", "statements": [{}]}'])
def test_malformed_chain_documents_are_integrity_errors(raw: bytes) -> None:
    from riskops.errors import IntegrityError

    with pytest.raises(IntegrityError, match="malformed key"):
        parse_chain_document(raw, source="chain.json")
