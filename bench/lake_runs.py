"""What a pricelake lake's newest committed process run produced, for the bench scripts that
compare marts (compare_versions.py, check_ports.py)."""
import glob
import json
import os
import sys


def current_marts(lake):
    """mart name -> the Parquet files of the newest committed run (internal marts included)."""
    manifests = sorted(glob.glob(os.path.join(lake, "_manifests", "process", "*.json")))
    if not manifests:
        sys.exit(f"{lake}: no process run has committed")
    produced = json.load(open(manifests[-1]))["produced"]
    marts = {}
    for path in produced:
        if path.startswith("marts/") and path.endswith(".parquet"):
            marts.setdefault(path.split("/")[1], []).append(os.path.join(lake, path))
    return marts
