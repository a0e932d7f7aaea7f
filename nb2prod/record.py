"""``nb2prod.record(name, value)``: how a notebook reports a metric to its run record.

The value is displayed as an output with nb2prod's MIME type (and a plain-text fallback), so it
lands in the executed notebook that papermill saves and ``nb2prod run`` reads it from there. Typed
by hand in Jupyter it just shows ``name = value``; outside IPython it does nothing. An exported
package gets its own copy of this behaviour and does not need nb2prod at run time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

METRIC_MIME = "application/vnd.nb2prod.metric+json"
SCRAPBOOK_MIME = "application/scrapbook.scrap.json+json"


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become numbers and lists."""
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        value = value.tolist()
    elif hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot record a {type(value).__name__}; record numbers, strings, booleans, lists or dicts")


def record(name: str, value: Any) -> Any:
    """Record the metric ``name`` with ``value`` for the run record; returns ``value`` unchanged."""
    if not isinstance(name, str) or not name:
        raise TypeError("a metric name is a non-empty string")
    data = jsonable(value)
    try:
        from IPython import get_ipython
    except ImportError:
        return value
    if get_ipython() is None:
        return value
    from IPython.display import display

    display({METRIC_MIME: {"name": name, "value": data}, "text/plain": f"{name} = {data!r}"}, raw=True)
    return value


def recorded_metrics(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics an executed notebook recorded (the last value of each name wins).

    Reads ``record`` outputs and, for old notebooks, scrapbook's glued values.
    """
    metrics: dict[str, Any] = {}
    for cell in notebook.get("cells", ()):
        for output in cell.get("outputs", ()) if cell.get("cell_type") == "code" else ():
            data = output.get("data") or {}
            if isinstance(data.get(METRIC_MIME), Mapping) and "name" in data[METRIC_MIME]:
                metrics[str(data[METRIC_MIME]["name"])] = data[METRIC_MIME].get("value")
            scrap = data.get(SCRAPBOOK_MIME)
            if isinstance(scrap, Mapping) and "name" in scrap:
                metrics[str(scrap["name"])] = scrap.get("data")
    return metrics
