"""Train the insurance charges model and save it with its metadata.

Reproducible: the same CSV and seed give the same metrics and the same pipeline. Run::

    python -m insurance_charges_model.train                       # packaged CSV -> packaged model_files/
    python -m insurance_charges_model.train --data my.csv --output /tmp/model.joblib

The saved artefact is a ``joblib`` file holding a dict (see ``Artefact``): the fitted scikit-learn
pipeline (one-hot encoding of sex and region, then a gradient boosting regressor), the feature
ranges seen in training (the model refuses bmi above the trained maximum), the held-out metrics and
the versions it was built with.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TypedDict

import joblib
import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from insurance_charges_model.data import REGIONS, SEXES, read_csv
from insurance_charges_model.features import CATEGORICAL_INDEXES, FEATURE_COLUMNS, to_feature_matrix
from insurance_charges_model.version import __version__

DEFAULT_SEED = 0
"""Seed of the train/test split and of the regressor."""

TEST_SIZE = 0.2
"""Share of the rows held out for the reported metrics."""


class Metrics(TypedDict):
    """Held-out metrics of a trained model."""

    r2: float
    mae: float
    train_rows: int
    test_rows: int


class Artefact(TypedDict):
    """Content of ``model_files/model.joblib``."""

    pipeline: Pipeline
    feature_columns: list[str]
    training_ranges: dict[str, list[float]]
    metrics: Metrics
    sklearn_version: str
    model_version: str


def default_model_path() -> Path:
    """Return the path of the artefact shipped inside the package."""
    return Path(str(resources.files("insurance_charges_model").joinpath("model_files", "model.joblib")))


def build_pipeline(seed: int = DEFAULT_SEED) -> Pipeline:
    """Return the unfitted pipeline: one-hot(sex, region) + passthrough numbers -> gradient boosting."""
    encoder = OneHotEncoder(categories=[list(SEXES), list(REGIONS)], handle_unknown="error", sparse_output=False)
    preprocess = ColumnTransformer([("categorical", encoder, list(CATEGORICAL_INDEXES))], remainder="passthrough")
    regressor = GradientBoostingRegressor(
        n_estimators=250, learning_rate=0.05, max_depth=3, subsample=0.8, random_state=seed
    )
    return Pipeline([("preprocess", preprocess), ("regressor", regressor)])


def train(data_path: Path | None = None, seed: int = DEFAULT_SEED) -> Artefact:
    """Fit the pipeline on a training split and evaluate it on the held-out split.

    Args:
        data_path: CSV written by ``insurance_charges_model.data``; defaults to the packaged one.
        seed: seed of the split and of the regressor.

    Returns:
        The artefact to save; its ``metrics`` are computed on the held-out rows only.

    """
    records = read_csv(data_path)
    features = to_feature_matrix(records)
    target = np.array([r["charges"] for r in records], dtype=float)
    x_train, x_test, y_train, y_test = train_test_split(features, target, test_size=TEST_SIZE, random_state=seed)
    pipeline = build_pipeline(seed).fit(x_train, y_train)
    predicted = pipeline.predict(x_test)
    metrics = Metrics(
        r2=round(float(r2_score(y_test, predicted)), 4),
        mae=round(float(mean_absolute_error(y_test, predicted)), 2),
        train_rows=len(y_train),
        test_rows=len(y_test),
    )
    numeric: dict[str, list[float]] = {
        "age": [r["age"] for r in records],
        "bmi": [r["bmi"] for r in records],
        "children": [r["children"] for r in records],
    }
    ranges = {name: [float(min(values)), float(max(values))] for name, values in numeric.items()}
    return Artefact(
        pipeline=pipeline,
        feature_columns=list(FEATURE_COLUMNS),
        training_ranges=ranges,
        metrics=metrics,
        sklearn_version=sklearn.__version__,
        model_version=__version__,
    )


def save(artefact: Artefact, path: Path) -> int:
    """Save the artefact with joblib (compressed) and return its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(artefact, path, compress=3)
    return path.stat().st_size


def load(path: Path | None = None) -> Artefact:
    """Load an artefact saved by ``save``; defaults to the packaged one."""
    loaded: Artefact = joblib.load(default_model_path() if path is None else path)
    return loaded


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point: train, print metrics, save the artefact."""
    parser = argparse.ArgumentParser(description="Train the insurance charges model.")
    parser.add_argument("--data", type=Path, default=None, help="training CSV (default: the packaged CSV)")
    parser.add_argument("--output", type=Path, default=None, help="artefact path (default: the packaged one)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    args = parser.parse_args(argv)
    artefact = train(args.data, args.seed)
    output: Path = default_model_path() if args.output is None else args.output
    size = save(artefact, output)
    m = artefact["metrics"]
    print(f"trained on {m['train_rows']} rows, evaluated on {m['test_rows']} held-out rows")
    print(f"held-out R2 = {m['r2']:.4f}, MAE = {m['mae']:.2f}")
    print(f"saved {output} ({size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
