"""Deterministic synthetic insurance charges data.

The shipped ``data/insurance.csv`` was written by this module with its defaults; regenerate it with::

    python -m insurance_charges_model.data            # 1338 rows, seed 42, into the package
    python -m insurance_charges_model.data --rows 5000 --seed 7 --output /tmp/insurance.csv

The columns and the shape of the data follow the classic "insurance charges" dataset (1338 rows):
``age, sex, bmi, children, smoker, region, charges`` with ``smoker`` written as ``yes``/``no``.
Charges are generated, not downloaded:

* a base cost that grows with age (about 270 per year), children (about 475 each) and, weakly, bmi;
* small regional offsets and no real effect of sex;
* smokers pay about 13,000 more, plus a further ~19,500 once their bmi passes 30 (a smooth step),
  which gives the well-known three bands (non-smokers, smokers, obese smokers);
* Gaussian noise (sd 1,000) plus, for 8% of non-smokers, an exponential surcharge (mean 8,000)
  that produces the long right tail; charges never go below 1,100.

bmi is drawn from N(30.6, 6.0) and redrawn until it lies in [``BMI_MIN``, ``BMI_MAX``]; the model
refuses to extrapolate above the largest bmi it was trained on (see ``model.py``).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TypedDict

import numpy as np

COLUMNS: tuple[str, ...] = ("age", "sex", "bmi", "children", "smoker", "region", "charges")
"""CSV header, in order."""

SEXES: tuple[str, ...] = ("female", "male")
"""Values of the ``sex`` column."""

REGIONS: tuple[str, ...] = ("northeast", "northwest", "southeast", "southwest")
"""Values of the ``region`` column."""

DEFAULT_ROWS = 1338
"""Number of rows in the shipped CSV (the size of the classic dataset)."""

DEFAULT_SEED = 42
"""Seed of the shipped CSV."""

AGE_MIN, AGE_MAX = 18, 65
"""Inclusive age range of the generated people."""

BMI_MIN, BMI_MAX = 15.0, 45.0
"""Inclusive bmi range of the generated people (the input schema accepts up to 50)."""

_CHILDREN_P = (0.43, 0.24, 0.18, 0.12, 0.02, 0.01)
_REGION_P = (0.24, 0.24, 0.28, 0.24)
_REGION_OFFSET = {"northeast": 600.0, "northwest": 200.0, "southeast": -100.0, "southwest": -300.0}
_SMOKER_P = 0.205


class InsuranceRecord(TypedDict):
    """One row of the insurance data set."""

    age: int
    sex: str
    bmi: float
    children: int
    smoker: bool
    region: str
    charges: float


def default_csv_path() -> Path:
    """Return the path of the CSV shipped inside the package."""
    return Path(str(resources.files("insurance_charges_model").joinpath("data", "insurance.csv")))


def _truncated_normal(
    rng: np.random.Generator, size: int, mean: float, sd: float, low: float, high: float
) -> np.ndarray:
    """Draw ``size`` values from N(mean, sd), redrawing the ones outside [low, high]."""
    values = rng.normal(mean, sd, size)
    outside = (values < low) | (values > high)
    while outside.any():
        values[outside] = rng.normal(mean, sd, int(outside.sum()))
        outside = (values < low) | (values > high)
    return values


def expected_charges(
    age: np.ndarray,
    sex: np.ndarray,
    bmi: np.ndarray,
    children: np.ndarray,
    smoker: np.ndarray,
    region: np.ndarray,
) -> np.ndarray:
    """Return the noise-free charges of the generating formula, element-wise.

    Args:
        age: ages in years.
        sex: ``"female"``/``"male"`` strings (kept for the signature; the formula ignores sex).
        bmi: body mass indexes.
        children: numbers of children.
        smoker: booleans.
        region: region names from ``REGIONS``.

    Returns:
        Charges before noise, as floats.

    """
    del sex  # charges do not depend on sex, as in the classic data set (almost)
    base = -2500.0 + 270.0 * age + 475.0 * children + 30.0 * (bmi - 30.0)
    base = base + np.array([_REGION_OFFSET[str(r)] for r in region])
    obese_step = 19500.0 / (1.0 + np.exp(-2.0 * (bmi - 30.0)))
    return np.where(smoker, base + 13000.0 + obese_step, base)


def generate(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[InsuranceRecord]:
    """Generate ``rows`` synthetic records; the same arguments always give the same records.

    Args:
        rows: number of records.
        seed: seed of the numpy random generator.

    Returns:
        The records, in generation order.

    """
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)
    age = rng.integers(AGE_MIN, AGE_MAX + 1, rows)
    sex = rng.choice(np.array(SEXES), rows)
    bmi = np.round(_truncated_normal(rng, rows, 30.6, 6.0, BMI_MIN, BMI_MAX), 3)
    children = rng.choice(len(_CHILDREN_P), rows, p=_CHILDREN_P)
    smoker = rng.random(rows) < _SMOKER_P
    region = rng.choice(np.array(REGIONS), rows, p=_REGION_P)

    noise = rng.normal(0.0, 1000.0, rows)
    tail = (rng.random(rows) < 0.08) & ~smoker
    surcharge = np.where(tail, rng.exponential(8000.0, rows), 0.0)
    charges = expected_charges(age, sex, bmi, children, smoker, region) + noise + surcharge
    charges = np.round(np.maximum(charges, 1100.0), 2)

    return [
        InsuranceRecord(
            age=int(age[i]),
            sex=str(sex[i]),
            bmi=float(bmi[i]),
            children=int(children[i]),
            smoker=bool(smoker[i]),
            region=str(region[i]),
            charges=float(charges[i]),
        )
        for i in range(rows)
    ]


def write_csv(records: Sequence[InsuranceRecord], path: Path) -> None:
    """Write records to ``path`` as CSV (header ``COLUMNS``, smoker as ``yes``/``no``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in records:
            writer.writerow(
                [
                    r["age"],
                    r["sex"],
                    f"{r['bmi']:.3f}".rstrip("0").rstrip("."),
                    r["children"],
                    "yes" if r["smoker"] else "no",
                    r["region"],
                    f"{r['charges']:.2f}",
                ]
            )


def read_csv(path: Path | None = None) -> list[InsuranceRecord]:
    """Read records written by ``write_csv``.

    Args:
        path: CSV file; defaults to the one shipped inside the package.

    Returns:
        The records, in file order.

    Raises:
        ValueError: if the header is not ``COLUMNS`` or a value cannot be parsed.

    """
    path = default_csv_path() if path is None else path
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: expected columns {COLUMNS}, got {reader.fieldnames}")
        records = []
        for line, row in enumerate(reader, start=2):
            if row["smoker"] not in ("yes", "no"):
                raise ValueError(f"{path}:{line}: smoker must be 'yes' or 'no', got {row['smoker']!r}")
            records.append(
                InsuranceRecord(
                    age=int(row["age"]),
                    sex=row["sex"],
                    bmi=float(row["bmi"]),
                    children=int(row["children"]),
                    smoker=row["smoker"] == "yes",
                    region=row["region"],
                    charges=float(row["charges"]),
                )
            )
    return records


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point: generate the data set and write it as CSV."""
    parser = argparse.ArgumentParser(description="Generate the synthetic insurance charges CSV.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of rows (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--output", type=Path, default=None, help="CSV path (default: the packaged CSV)")
    args = parser.parse_args(argv)
    output: Path = default_csv_path() if args.output is None else args.output
    records = generate(args.rows, args.seed)
    write_csv(records, output)
    print(f"wrote {len(records)} rows to {output}")


if __name__ == "__main__":
    main()
