"""The trees of fitted binary ``HistGradientBoostingClassifier`` models as flat numpy arrays,
walked for every tree of every booster at once.

    trees = compile_trees([booster_a, booster_b, booster_c])
    trees.decision_functions(X)   # (n_rows, 3): each booster's ``decision_function(X)``

scikit-learn predicts tree by tree: one OpenMP region per tree and row block,
450 of them for three boosters of 150 trees, each a fraction of a millisecond
of fixed cost on a one-row call. Here each step down the trees is a handful of
numpy operations over all trees together, and the number of steps is the depth
of the deepest path the rows take.

The arithmetic is scikit-learn's, in its order, so the results are equal to the
last bit: a split sends a row left when its value is ``<=`` the node's threshold,
or when the value is NaN and the node sends missing values left
(``_predictor.pyx``, ``_predict_one_from_raw_data``); a booster's raw prediction
is ``0 + baseline + tree_1 + tree_2 + ...`` added in tree order
(``BaseHistGradientBoosting._raw_predict``), which ``np.cumsum`` reproduces
(a sum or a dot product would pair the terms differently).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskops.errors import FastPathUnsupported


@dataclass(frozen=True, eq=False)
class CompiledTrees:
    """All nodes of all trees, booster by booster and tree by tree, in flat arrays.

    A leaf's children are the leaf itself, so a row that reached one stays there.
    """

    feature: np.ndarray  # (n_nodes,) intp: the input column a node splits on
    threshold: np.ndarray  # (n_nodes,) float64: left when value <= threshold
    missing_left: np.ndarray  # (n_nodes,) bool: NaN goes left
    #: (2 * n_nodes,) intp: node i's left child at 2i, its right child at 2i + 1.
    children: np.ndarray
    internal: np.ndarray  # (n_nodes,) bool: not a leaf
    value: np.ndarray  # (n_nodes,) float64: a leaf's value (0 elsewhere)
    roots: np.ndarray  # (n_boosters * trees_per_booster,) intp
    baselines: np.ndarray  # (n_boosters,) float64
    trees_per_booster: int
    n_features: int
    #: Steps from a root to the deepest leaf: the walk never takes more.
    max_depth: int

    @property
    def n_boosters(self) -> int:
        return len(self.baselines)

    def decision_functions(self, X: np.ndarray) -> np.ndarray:
        """Each booster's ``decision_function`` of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features), float64
            Rows as the boosters were fitted on (the column transformer's output).

        Returns
        -------
        raw : ndarray of shape (n_rows, n_boosters)
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_rows, {self.n_features}), got {X.shape}")
        n = X.shape[0]
        flat = X.ravel()
        missing = bool(np.isnan(flat).any())
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        offsets = (np.arange(n, dtype=np.intp) * self.n_features)[:, None]
        for _ in range(self.max_depth):
            if not self.internal[node].any():
                break
            column = self.feature[node]
            if n > 1:
                column += offsets
            x = flat[column]
            # Right unless value <= threshold; NaN compares False, so it goes right only
            # where the node sends missing values right.
            right = x > self.threshold[node]
            if missing:
                right |= np.isnan(x) & ~self.missing_left[node]
            node = self.children[2 * node + right]
        leaves = self.value[node].reshape(n, self.n_boosters, self.trees_per_booster)
        start = np.zeros((n, self.n_boosters, 2))
        start[:, :, 1] = self.baselines
        return np.cumsum(np.concatenate([start, leaves], axis=2), axis=2)[:, :, -1]


def compile_trees(boosters: Sequence[Any]) -> CompiledTrees:
    """The trees of fitted binary ``HistGradientBoostingClassifier`` ``boosters`` as one
    ``CompiledTrees``.

    Raises
    ------
    FastPathUnsupported
        If a booster is not a binary ``HistGradientBoostingClassifier`` fitted on
        numeric columns only (categorical splits are not compiled), or the boosters
        differ in their number of trees or input columns.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    if not boosters:
        raise FastPathUnsupported("there are no boosters to compile")
    parts: list[np.ndarray] = []
    roots: list[int] = []
    baselines: list[float] = []
    counts: set[int] = set()
    widths: set[int] = set()
    depth = 0
    offset = 0
    for booster in boosters:
        if type(booster) is not HistGradientBoostingClassifier:
            raise FastPathUnsupported(f"the calibrated estimator is a {type(booster).__name__}, "
                                      "not a HistGradientBoostingClassifier")
        if booster.n_trees_per_iteration_ != 1 or len(booster.classes_) != 2:
            raise FastPathUnsupported("the booster is not a binary classifier")
        categorical = getattr(booster, "is_categorical_", None)
        if getattr(booster, "_preprocessor", None) is not None or (
                categorical is not None and np.any(categorical)):
            raise FastPathUnsupported("the booster has categorical features")
        baseline = np.asarray(booster._baseline_prediction, dtype=np.float64)
        if baseline.shape != (1, 1):
            raise FastPathUnsupported(f"the booster's baseline has shape {baseline.shape}")
        baselines.append(float(baseline[0, 0]))
        counts.add(len(booster._predictors))
        widths.add(int(booster.n_features_in_))
        for iteration in booster._predictors:
            (predictor,) = iteration
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"]):
                raise FastPathUnsupported("a tree has a categorical split")
            _check_tree(nodes, int(booster.n_features_in_))
            depth = max(depth, int(nodes["depth"].max()))
            roots.append(offset)
            parts.append(_shifted(nodes, offset))
            offset += len(nodes)
    if len(counts) != 1 or len(widths) != 1:
        raise FastPathUnsupported("the boosters differ in their number of trees or columns")
    nodes = np.concatenate(parts)

    def column(name: str) -> np.ndarray:
        return np.ascontiguousarray(nodes[name])

    return CompiledTrees(
        feature=column("feature_idx"), threshold=column("num_threshold"),
        missing_left=column("missing_left"),
        children=np.column_stack([nodes["left"], nodes["right"]]).ravel(),
        internal=column("internal"), value=column("value"),
        roots=np.asarray(roots, dtype=np.intp), baselines=np.asarray(baselines),
        trees_per_booster=counts.pop(), n_features=widths.pop(), max_depth=depth)


_NODE = np.dtype([("feature_idx", np.intp), ("num_threshold", np.float64),
                  ("missing_left", bool), ("left", np.intp), ("right", np.intp),
                  ("internal", bool), ("value", np.float64)])


def _check_tree(nodes: np.ndarray, n_features: int) -> None:
    """A tree whose children point inside it, one level down, and whose splits read
    columns the booster has; anything else is not walked."""
    inner = ~nodes["is_leaf"].astype(bool)
    children = np.concatenate([nodes["left"][inner], nodes["right"][inner]]).astype(np.intp)
    if np.any(children <= 0) or np.any(children >= len(nodes)):
        raise FastPathUnsupported("a tree has a child index outside the tree")
    below = np.concatenate([nodes["depth"][inner], nodes["depth"][inner]]).astype(np.intp) + 1
    if np.any(nodes["depth"][children].astype(np.intp) != below):
        raise FastPathUnsupported("a tree's depths do not match its links")
    features = nodes["feature_idx"][inner]
    if np.any(features < 0) or np.any(features >= n_features):
        raise FastPathUnsupported("a split reads a column the booster does not have")


def _shifted(nodes: np.ndarray, offset: int) -> np.ndarray:
    """One tree's nodes with global child indices; leaves point at themselves."""
    out = np.empty(len(nodes), dtype=_NODE)
    leaf = nodes["is_leaf"].astype(bool)
    own = np.arange(len(nodes), dtype=np.intp) + offset
    out["feature_idx"] = np.where(leaf, 0, nodes["feature_idx"])
    out["num_threshold"] = nodes["num_threshold"]
    out["missing_left"] = nodes["missing_go_to_left"].astype(bool)
    out["left"] = np.where(leaf, own, nodes["left"].astype(np.intp) + offset)
    out["right"] = np.where(leaf, own, nodes["right"].astype(np.intp) + offset)
    out["internal"] = ~leaf
    out["value"] = np.where(leaf, nodes["value"], 0.0)
    return out
