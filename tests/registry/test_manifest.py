"""Manifest schema and confinement of artifact paths."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskops.errors import IntegrityError, UnknownModel, UnknownVersion
from riskops.registry.manifest import canonical_bytes, check_relative_path, parse_manifest


def _document(**overrides):  # type: ignore[no-untyped-def]
    doc = {
        "schema": "riskops.manifest/v1",
        "manifest_version": 3,
        "published_at": "2026-11-23T00:00:00+00:00",
        "artifact_root": "artifacts",
        "audit_head": None,
        "models": {
            "fraud": {
                "stages": {"production": 1, "staging": None, "canary": None},
                "history": [1],
                "versions": {"1": {
                    "version": 1, "created_at": "2026-11-23T00:00:00+00:00", "author": "a",
                    "entrypoint": "model.skops", "signature": None,
                    "artifacts": [{"path": "models/fraud/1/model.skops", "sha256": "a" * 64,
                                   "size": 10}],
                }},
            }
        },
    }
    doc.update(overrides)
    return doc


def test_canonical_bytes_are_stable_and_sorted() -> None:
    doc = _document()
    assert canonical_bytes(doc) == canonical_bytes(json.loads(canonical_bytes(doc)))
    assert canonical_bytes({"b": 1, "a": "é"}) == '{\n  "a": "é",\n  "b": 1\n}\n'.encode()


def test_valid_document_parses_and_names_unknowns() -> None:
    manifest = parse_manifest(canonical_bytes(_document()))
    assert manifest.version("fraud", 1).artifacts[0].size == 10
    with pytest.raises(UnknownModel, match="'tax' is not in manifest v3"):
        manifest.model("tax")
    with pytest.raises(UnknownVersion, match="fraud v9 is not in manifest v3"):
        manifest.version("fraud", 9)


@pytest.mark.parametrize(
    "path",
    ["../x", "/abs/x", "a/../../x", "a//b", "./a", "a\\b", "", "a\x00b", "a/."],
)
def test_unconfined_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        check_relative_path(path)
    doc = _document()
    doc["models"]["fraud"]["versions"]["1"]["artifacts"][0]["path"] = path
    with pytest.raises(IntegrityError, match=r"models\.fraud\.versions\.1\.artifacts\.0\.path"):
        parse_manifest(canonical_bytes(doc))


@given(st.lists(st.text(alphabet="abc.-_", min_size=1, max_size=5), min_size=1, max_size=4))
def test_accepted_paths_never_climb(parts: list[str]) -> None:
    path = "/".join(parts)
    try:
        check_relative_path(path)
    except ValueError:
        return
    assert ".." not in path.split("/") and not path.startswith("/")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"manifest_version": "3"}, "manifest_version"),
        ({"manifest_version": 0}, "manifest_version"),
        ({"schema": "other/v9"}, "schema"),
        ({"artifact_root": "../elsewhere"}, "artifact_root"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_schema_violations_name_the_field(override, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError, match=field):
        parse_manifest(canonical_bytes(_document(**override)))


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[]", b"null"])
def test_malformed_bytes(raw: bytes) -> None:
    with pytest.raises(IntegrityError):
        parse_manifest(raw)


def test_bad_digest_and_size() -> None:
    doc = _document()
    doc["models"]["fraud"]["versions"]["1"]["artifacts"][0]["sha256"] = "G" * 64
    with pytest.raises(IntegrityError, match="sha256"):
        parse_manifest(canonical_bytes(doc))
    doc = _document()
    doc["models"]["fraud"]["versions"]["1"]["artifacts"][0]["size"] = -1
    with pytest.raises(IntegrityError, match="size"):
        parse_manifest(canonical_bytes(doc))
