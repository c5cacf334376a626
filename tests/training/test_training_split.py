"""The time-ordered split: sizes, order, no overlap, independence of the file's row order."""

from __future__ import annotations

import pandas as pd
import pytest
from training_helpers import toy_frame

from riskops.training.split import ids_sha256, slice_sizes, time_split


def test_slices_are_consecutive_in_time_and_cover_every_row_once() -> None:
    frame = toy_frame(1000)
    split = time_split(frame, timestamp="timestamp", id="id")
    assert (len(split.train), len(split.validation), len(split.golden)) == (700, 150, 150)
    assert split.train["timestamp"].max() <= split.validation["timestamp"].min()
    assert split.validation["timestamp"].max() <= split.golden["timestamp"].min()
    ids = pd.concat([split.train["id"], split.validation["id"], split.golden["id"]])
    assert sorted(ids) == sorted(frame["id"]) and ids.is_unique
    assert split.fractions == (0.7, 0.15, 0.15)


def test_row_order_of_the_file_does_not_matter() -> None:
    frame = toy_frame(500)
    shuffled = frame.sample(frac=1.0, random_state=3)
    a = time_split(frame, timestamp="timestamp", id="id")
    b = time_split(shuffled, timestamp="timestamp", id="id")
    assert a.golden["id"].tolist() == b.golden["id"].tolist()
    assert a.validation["id"].tolist() == b.validation["id"].tolist()


def test_tied_timestamps_never_straddle_a_cut() -> None:
    day = [pd.Timestamp(f"2024-01-0{d}", tz="UTC") for d in (1, 2, 3, 4)]
    # 10 rows: 4 on day 1, 3 on day 2, 2 on day 3, 1 on day 4; ids out of order.
    stamps = [day[0]] * 4 + [day[1]] * 3 + [day[2]] * 2 + [day[3]]
    frame = pd.DataFrame({"id": list("jihgfedcba"), "timestamp": stamps})
    split = time_split(frame, timestamp="timestamp", id="id", fractions=(0.5, 0.3, 0.2))
    # Plain cuts at 5 and 8 would split day 2 and day 3; both move back to the run start.
    assert split.train["timestamp"].max() < split.validation["timestamp"].min()
    assert split.validation["timestamp"].max() < split.golden["timestamp"].min()
    assert len(split.train) == 4 and len(split.validation) == 3 and len(split.golden) == 3


def test_all_equal_timestamps_cannot_be_split() -> None:
    stamp = pd.Timestamp("2024-01-01", tz="UTC")
    frame = pd.DataFrame({"id": ["d", "b", "a", "c"], "timestamp": [stamp] * 4})
    with pytest.raises(ValueError, match="timestamps tie across its cuts"):
        time_split(frame, timestamp="timestamp", id="id", fractions=(0.5, 0.25, 0.25))


def test_custom_fractions() -> None:
    assert slice_sizes(1000, (0.6, 0.2, 0.2)) == (600, 200, 200)
    assert slice_sizes(7, (0.5, 0.25, 0.25)) == (3, 1, 3)


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.7, 0.3), "three numbers"),
        ((0.8, 0.15, 0.15), "must be positive and sum to 1"),
        ((1.0, 0.0, 0.0), "must be positive and sum to 1"),
    ],
)
def test_bad_fractions_are_refused(fractions: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        slice_sizes(100, fractions)


def test_too_few_rows_for_three_slices() -> None:
    with pytest.raises(ValueError, match="2 rows cannot be split"):
        slice_sizes(2)


def test_ids_fingerprint_depends_on_order_and_content() -> None:
    assert ids_sha256(["a", "b"]) == ids_sha256(pd.Series(["a", "b"]))
    assert ids_sha256(["a", "b"]) != ids_sha256(["b", "a"])
    assert ids_sha256(["ab"]) != ids_sha256(["a", "b"])
