"""Run in a Python that has evidently 0.7: print ``snapshot.dict()`` of the same Report call the evidently engine makes.

Used to capture the fixtures ``tests/data/drift/evidently-0.7-snapshot-{small,large}.json`` (the
shape the mapping's unit tests read) and, by the slow test, to check that the installed evidently
still returns that shape. Usage: ``python evidently_capture.py SEED ROWS [ROWS...]``: a JSON list,
one ``snapshot.dict()`` per ROWS (one process, so evidently is imported once).
"""

import json
import sys

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def frames(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current frame: ``shifted`` and ``mix`` drift, ``steady`` and ``flag`` do not."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(
        {
            "shifted": rng.normal(0, 1, rows),
            "steady": rng.normal(0, 1, rows),
            "mix": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]),
            "flag": rng.choice(["yes", "no"], rows),
        }
    )
    current = pd.DataFrame(
        {
            "shifted": rng.normal(0.8, 1, rows),
            "steady": rng.normal(0, 1, rows),
            "mix": rng.choice(["a", "b", "c"], rows, p=[0.2, 0.3, 0.5]),
            "flag": rng.choice(["yes", "no"], rows),
        }
    )
    return reference, current


def capture(rows: int, seed: int) -> dict:
    """``snapshot.dict()`` of the engine's Report call on ``frames(rows, seed)``."""
    reference, current = frames(rows, seed)
    definition = DataDefinition(numerical_columns=["shifted", "steady"], categorical_columns=["mix", "flag"])
    columns = list(reference.columns)
    snapshot = Report([DataDriftPreset(columns=columns)], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition), Dataset.from_pandas(reference, data_definition=definition)
    )
    return snapshot.dict()


if __name__ == "__main__":
    seed = int(sys.argv[1])
    print(json.dumps([capture(int(rows), seed) for rows in sys.argv[2:]], indent=1, sort_keys=True))
