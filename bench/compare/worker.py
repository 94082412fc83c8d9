"""Child-process entry points (fresh interpreter per run): prints one JSON line.

python -m bench.compare.worker stability SCHEMES LAYER_TYPES JUNK
python -m bench.compare.worker speed SCHEME SIZE BUDGET
"""

from __future__ import annotations

import json
import sys

from bench.compare.measure import speed_in_process, stability_keys
from bench.compare.schemes import BY_NAME


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "stability":
        schemes = [BY_NAME[n] for n in args[0].split(",")]
        result = stability_keys(args[1].split(","), schemes, int(args[2]))
    elif command == "speed":
        result = speed_in_process(
            BY_NAME[args[0]], int(args[1]), memory=True, budget=float(args[2])
        )
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
