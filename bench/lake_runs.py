"""What a pricelake lake's marts are now, for the bench scripts that compare marts
(compare_versions.py, check_ports.py): each mart's live files at its latest Delta version, or, in
a lake written before the tables were Delta tables, the files the newest run's manifest produced."""
import glob
import json
import os
import sys


def current_marts(lake):
    """mart name -> the Parquet files of the mart now (internal marts included)."""
    marts_dir = os.path.join(lake, "marts")
    if glob.glob(os.path.join(marts_dir, "*", "_delta_log")):
        from deltalake import DeltaTable

        marts = {}
        for name in sorted(os.listdir(marts_dir)):
            folder = os.path.join(marts_dir, name)
            if os.path.isdir(os.path.join(folder, "_delta_log")):
                files = DeltaTable(folder).files()
                # The mart's order: by file name (its days), whatever run's folder.
                files.sort(key=lambda f: (os.path.basename(f), f))
                marts[name] = [os.path.join(folder, f) for f in files]
        return marts
    manifests = sorted(glob.glob(os.path.join(lake, "_manifests", "process", "*.json")))
    if not manifests:
        sys.exit(f"{lake}: no process run has committed")
    produced = json.load(open(manifests[-1]))["produced"]
    marts = {}
    for path in produced:
        if path.startswith("marts/") and path.endswith(".parquet"):
            marts.setdefault(path.split("/")[1], []).append(os.path.join(lake, path))
    return marts
