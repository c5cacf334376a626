"""The exception tree: every class lives in errors.py, is drawn in its docstring, and
the modules that used to define one still export the same class."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from riskops import errors

CLASSES = {name: cls for name, cls in vars(errors).items()
           if inspect.isclass(cls) and issubclass(cls, BaseException)
           and cls.__module__ == errors.__name__}

#: Module -> names it defined before errors.py held them; the same objects now.
MOVED = {
    "riskops.jobs.worker": ["Rejected"],
    "riskops.jobs.amqp": ["BrokerUnavailable"],
    "riskops.jobs.catalog": ["JobUnavailable"],
    "riskops.training.data": ["InvalidTrainingData"],
    "riskops.training.reproduce": ["DataChanged"],
    "riskops.scenarios": ["UnknownScenario"],
    "riskops.registry.service": ["PromotionBlocked"],
    "riskops.serving.feedback_store": ["UnknownPrediction"],
    "riskops.serving.limits": ["BodyTooLarge"],
    "riskops.serving.v2": ["V2Error"],
    "riskops.serving.app": ["InvalidBody"],
    "riskops.serving.service": ["PredictionsNotRecorded"],
}


def _tree() -> dict[str, str]:
    """Class name -> parent name, read from the drawing in the module docstring."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^[\s│]*(?:[├└]── )?([A-Z]\w+)", line)
        if not match or not re.search(r"[├└]── |^\s*Exception\s*$", line):
            continue
        depth, name = match.start(1), match.group(1)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_every_class_is_drawn_under_its_base() -> None:
    tree = _tree()
    assert set(tree) == set(CLASSES)
    for name, cls in CLASSES.items():
        assert tree[name] == cls.__bases__[0].__name__, name


def test_every_class_says_when_it_is_raised() -> None:
    for name, cls in CLASSES.items():
        assert cls.__doc__ and cls.__doc__.strip(), name


def test_input_errors_exit_2_and_failed_checks_exit_1() -> None:
    for cls in CLASSES.values():
        if issubclass(cls, errors.CheckFailed):
            assert cls.exit_code == 1
        elif issubclass(cls, errors.RiskopsError):
            assert cls.exit_code == 2


@pytest.mark.parametrize("module", sorted(MOVED))
def test_moved_names_stay_importable_from_their_old_module(module: str) -> None:
    loaded = importlib.import_module(module)
    for name in MOVED[module]:
        assert getattr(loaded, name) is CLASSES[name]


def test_job_unavailable_is_still_a_runtime_error() -> None:
    exc = errors.JobUnavailable("job x: cannot import y")
    assert isinstance(exc, RuntimeError) and isinstance(exc, errors.InputError)


def test_v2_error_answers_json() -> None:
    from riskops.serving.v2 import error_response

    response = error_response(errors.V2Error(404, "no such model", headers={"X-A": "1"}))
    assert response.status_code == 404
    assert response.body == b'{"error":"no such model","detail":"no such model"}'
    assert response.headers["x-a"] == "1"


def test_constructors_keep_their_attributes() -> None:
    assert errors.IntegrityError("m", [("a", "b")]).failures == [("a", "b")]
    assert errors.AuditLogBroken("m", seq=4).seq == 4
    assert errors.UnknownPrediction("m", ("p1",)).ids == ["p1"]
    assert errors.Rejected("bad").reason == "bad"
    assert errors.InvalidBody([{"field": "x"}]).errors == [{"field": "x"}]
    v2 = errors.V2Error(400, "bad", detail=[{"a": 1}])
    assert (v2.status, v2.detail, v2.headers, str(v2)) == (400, [{"a": 1}], None, "bad")
