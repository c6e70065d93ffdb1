#!/usr/bin/env python3
"""Write heldout4.csv (item references + labels only, never text) and the agreement table of the
fourth held-out set (issue #19, round 5).

Usage:
  python3 collect_heldout4.py [--labels DIR] [--final FILE] [--out DIR]

  --labels DIR   the labelling folder (chunks4/ made by build_sample4.py, annot4_E/, annot4_F/)
  --final FILE   adjudicated labels of the 400 items (default DIR/final4.csv)
  --out DIR      where heldout4.csv goes (default: this script's folder)

The 400 items were drawn by build_sample4.py (through build_sample2.py, build_sample.py and
build_supplement.py, all beside it) from items in none of the earlier samples; two new annotators
labelled all of them by reading under the round-4 guide; disagreements and unsure items were
adjudicated. The set was scored once, after the round-5 tuning on all earlier parts. Standard
library only.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect_heldout2 import collect  # noqa: E402
from collect_labels import parse_args  # noqa: E402


def main():
    collect(parse_args(), 4, annotators=("E", "F"))


if __name__ == "__main__":
    main()
