"""Fits lifetimes' BetaGeoFitter to a (frequency, recency, T) CSV and prints
one JSON line: the estimates and, separately, the time of the imports, of
reading the CSV and of the fit call alone. Run by `keyuan-bench bgnbd`.

Usage: python3 bgnbd_lifetimes.py COHORT.csv

Needs lifetimes (0.11.3 was measured, with pandas 3.1, numpy 2.4, scipy 1.17
and autograd as installed; no pinned environment was needed).
"""

import json
import sys
import time
from importlib.metadata import version

started = time.perf_counter()
import autograd  # noqa: E402
import lifetimes  # noqa: E402
import numpy  # noqa: E402
import pandas  # noqa: E402
import scipy  # noqa: E402
from lifetimes import BetaGeoFitter  # noqa: E402

imported = time.perf_counter()
cohort = pandas.read_csv(sys.argv[1])
loaded = time.perf_counter()
fitter = BetaGeoFitter().fit(cohort["frequency"], cohort["recency"], cohort["T"])
fitted = time.perf_counter()

params = fitter.params_
print(
    json.dumps(
        {
            "r": float(params["r"]),
            "alpha": float(params["alpha"]),
            "a": float(params["a"]),
            "b": float(params["b"]),
            "import_seconds": imported - started,
            "load_seconds": loaded - imported,
            "fit_seconds": fitted - loaded,
            "versions": "lifetimes {} pandas {} numpy {} scipy {} autograd {}, Python {}".format(
                lifetimes.__version__,
                pandas.__version__,
                numpy.__version__,
                scipy.__version__,
                version("autograd"),
                sys.version.split()[0],
            ),
        }
    )
)
