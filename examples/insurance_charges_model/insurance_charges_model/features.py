"""Feature layout shared by training and prediction, so the two can never disagree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

FEATURE_COLUMNS: tuple[str, ...] = ("age", "sex", "bmi", "children", "smoker", "region")
"""Model input columns, in the order of the feature matrix."""

CATEGORICAL_INDEXES: tuple[int, ...] = (1, 5)
"""Positions of ``sex`` and ``region`` in ``FEATURE_COLUMNS`` (one-hot encoded by the pipeline)."""


def to_feature_matrix(rows: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Build the object feature matrix the pipeline expects.

    Args:
        rows: mappings with at least the keys of ``FEATURE_COLUMNS``; enum values are reduced to
            their ``value`` and ``smoker`` to 0/1.

    Returns:
        An ``(n, 6)`` object array: numbers for age, bmi, children, smoker; strings for sex, region.

    """
    matrix = [
        [
            int(row["age"]),
            str(getattr(row["sex"], "value", row["sex"])),
            float(row["bmi"]),
            int(row["children"]),
            int(bool(row["smoker"])),
            str(getattr(row["region"], "value", row["region"])),
        ]
        for row in rows
    ]
    return np.array(matrix, dtype=object).reshape(-1, len(FEATURE_COLUMNS))
