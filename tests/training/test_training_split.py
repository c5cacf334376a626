"""The splits: by time (sizes, order, no overlap, independence of the file's row order),
by row order and at random."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from training_helpers import toy_frame

from riskops.training.split import (
    ids_sha256,
    ordered_split,
    random_split,
    slice_sizes,
    time_split,
)


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


def test_ordered_split_cuts_the_rows_as_given() -> None:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(20)]}).iloc[::-1]
    split = ordered_split(frame, fractions=(0.5, 0.25, 0.25))
    assert split.train["id"].tolist() == [f"r{i}" for i in range(19, 9, -1)]
    assert split.validation["id"].tolist() == [f"r{i}" for i in range(9, 4, -1)]
    assert split.golden["id"].tolist() == [f"r{i}" for i in range(4, -1, -1)]


def test_random_split_is_numpys_seeded_permutation_cut_in_slice_sizes() -> None:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(100)]})
    order = np.random.default_rng(7).permutation(100)  # the oracle
    split = random_split(frame, seed=7)
    assert split.train.index.tolist() == sorted(order[:70])
    assert split.validation.index.tolist() == sorted(order[70:85])
    assert split.golden.index.tolist() == sorted(order[85:])
    again = random_split(frame, seed=7)
    assert again.golden["id"].tolist() == split.golden["id"].tolist()
    assert random_split(frame, seed=8).golden["id"].tolist() != split.golden["id"].tolist()


def test_row_order_splits_refuse_too_few_rows() -> None:
    with pytest.raises(ValueError, match="cannot be split"):
        ordered_split(pd.DataFrame({"id": ["a", "b"]}))
    with pytest.raises(ValueError, match="cannot be split"):
        random_split(pd.DataFrame({"id": ["a", "b"]}), seed=0)
