"""Where the benchmarks find the public data sets: $HANDOFF_BENCH_DATA, else a `shared/data` folder
beside the repository (bitext/, clinc150/, tweeteval/)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HANDOFF_BENCH_DATA") or ROOT.parent / "shared" / "data")
