#!/usr/bin/env python3
"""Write heldout3.csv (item references + labels only, never text) and the agreement table of the
third held-out set (issue #19, round 4).

Usage:
  python3 collect_heldout3.py [--labels DIR] [--final FILE] [--out DIR]

  --labels DIR   the labelling folder (chunks3/ made by build_sample3.py, annot3_A/, annot3_B/)
  --final FILE   adjudicated labels of the 400 items (default DIR/final3.csv)
  --out DIR      where heldout3.csv goes (default: this script's folder)

The 400 items were drawn by build_sample3.py (through build_sample2.py, build_sample.py and
build_supplement.py, all beside it) from items in neither earlier sample; two new annotators
labelled all of them by reading; disagreements and unsure items were adjudicated. The set was
scored once, after the round-4 tuning on all three earlier parts. Standard library only.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect_heldout2 import collect  # noqa: E402
from collect_labels import parse_args  # noqa: E402


def main():
    collect(parse_args(), 3)


if __name__ == "__main__":
    main()
