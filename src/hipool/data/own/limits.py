"""The limits and constants of the user's-own-graph readers.

The readers read them from this module at each call (``limits.MAX_NODES``), so a caller may
change one: ``hipool.data.own.limits.MAX_NODES = 20_000_000``.
"""

from __future__ import annotations

from typing import Tuple

#: Degrees from this one up share the last one-hot column of the degree features.
DEGREE_CAP: int = 10
#: Width of the degree features, one-hot ``0 .. DEGREE_CAP`` and ``log(1 + degree)``.
NUM_DEGREE_FEATURES: int = DEGREE_CAP + 2
#: File endings read as edge lists.
EDGE_LIST_SUFFIXES: Tuple[str, ...] = (".edgelist", ".txt", ".edges")
#: File endings read as graphs by :func:`load_graph_folder` (case-insensitive).
GRAPH_SUFFIXES: Tuple[str, ...] = (".graphml", ".json") + EDGE_LIST_SUFFIXES
#: Most nodes in one graph (JSONL ``num_nodes`` and node indices stay below it too).
MAX_NODES: int = 10_000_000
#: Most nodes in all graphs of one dataset together (degree features alone take
#: 48 bytes a node).
MAX_TOTAL_NODES: int = 100_000_000
#: Class numbers are ``0 .. MAX_CLASSES - 1``.
MAX_CLASSES: int = 100_000
#: Longest field of a labels CSV, in characters (the default of Python's csv module).
MAX_CSV_FIELD: int = 131_072
#: Deepest known hierarchy, node attributes ``level1`` .. ``level32``, JSONL ``levels`` rows of
#: at most 32 groups (every graph's ``level_labels`` is padded to the deepest level).
MAX_LEVELS: int = 32
