"""Check that two danggol source trees generate the same demo shop, byte for byte.

    python bench/check_demo_same.py /work/main/src src --customers 2000 --seed 7

Each tree is imported in its own process (``PYTHONPATH=<tree>``); every table's schema and
column values are hashed (SHA-256 over the schema text and each column's values as JSON) and
the two sets of hashes compared. Exit status 1 when any table differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HASHER = """
import hashlib, json, sys
from danggol.demo import generate_shop
shop = generate_shop(int(sys.argv[1]), seed=int(sys.argv[2]))
out = {}
for name, table in sorted(shop.items()):
    h = hashlib.sha256(str(table.schema).encode())
    for col in table.columns:
        h.update(json.dumps(col.to_pylist(), default=str, ensure_ascii=False).encode())
    out[name] = [table.num_rows, h.hexdigest()]
print(json.dumps(out))
"""


def shop_hashes(src: str, customers: int, seed: int) -> dict[str, list[object]]:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    done = subprocess.run(
        [sys.executable, "-c", HASHER, str(customers), str(seed)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the src/ folder of the reference tree (e.g. main)")
    parser.add_argument("after", help="the src/ folder of the tree to check")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    before = shop_hashes(args.before, args.customers, args.seed)
    after = shop_hashes(args.after, args.customers, args.seed)
    for name in sorted(before.keys() | after.keys()):
        same = before.get(name) == after.get(name)
        print(f"{name:12} {'same' if same else 'DIFFERENT'} {before.get(name)} {after.get(name)}")
    return 0 if before == after else 1


if __name__ == "__main__":
    sys.exit(main())
