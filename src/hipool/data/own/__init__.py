"""The user's own graphs: a folder of graph files with a labels CSV, or one JSONL file.

Two entry points return a :class:`~hipool.data.base.GraphDataset`:

* :func:`load_graph_folder` reads a folder of graph files plus ``labels.csv``;
* :func:`load_jsonl` reads one graph per line; :func:`save_jsonl` writes that
  format, and ``load_jsonl(save_jsonl(ds, path))`` gives ``ds`` back.

Nothing is ever written into the folder or next to the files being read.  Text
files are UTF-8 (a byte-order mark is skipped; Windows line ends, CR LF, are fine).

**A folder** holds one graph per file (only the folder itself: sub-folders, broken
links and anything else that is not a regular file are ignored and listed in
``notes``; symbolic links to files are followed; names starting with ``.`` are
skipped, as are ``README``, ``LICENSE``, ``NOTES`` and ``CHANGELOG`` whatever their
ending; other files are left alone and listed in ``notes``):

* GraphML, ``*.graphml`` (read with networkx: ``pip install 'hipool[graphs]'``), checked
  first, since networkx is lenient (see ``graphml._scan_graphml``): no ``<!DOCTYPE>`` (no DTD,
  no entities, so nothing is fetched or expanded); every ``<node>`` has an ``id`` of its
  own, every ``<edge>`` a ``source`` and ``target`` among them; a ``<key>`` id, a key's
  attribute name, an edge id between the same nodes, a ``<data>`` key on one element:
  each once; ``edgedefault`` is ``directed`` or ``undirected``; no nested graphs; data
  reads as its key's ``attr.type`` (``int``/``long``: decimal digits, ``float``/``double``:
  a decimal number, ``boolean``: true, false, 1, 0).  A key's ``<default>`` holds for the
  nodes and edges without data for it;
* node-link JSON, ``*.json``: ``{"directed": false, "nodes": [{"id": ..., attr: ...},
  ...], "links": [{"source": ..., "target": ..., "weight": ...}, ...]}`` as written by
  ``json.dumps(networkx.node_link_data(G))`` (``"edges"`` is accepted for
  ``"links"``; ``"directed"`` defaults to false);
* edge lists, ``*.edgelist``, ``*.txt``, ``*.edges``: one edge ``u v`` or
  ``u v weight`` per line, separated by whitespace; ``#`` starts a comment; blank
  lines are skipped.  Always undirected; a node exists only through its edges
  (there are no isolated nodes, and no node attributes).  Node names are compared
  as text (``1`` and ``01`` are two nodes); a weight is a decimal number
  (``2``, ``-0.5``, ``1e-3``).

and a labels CSV (default ``labels.csv`` in the folder) with a header naming the
columns ``file`` and ``label`` once each (others are ignored).  ``file`` is a file
name in the folder (not a path).  Every row must name a graph file of the folder,
no file may appear twice, and every graph file must have a row.  A row may not have
more (non-empty) fields than the header: a label holding a comma must be quoted.
Quotes must be balanced (a quote inside a quoted field is doubled).  Graphs come in
the natural order of their file names (``g2`` before ``g10``).

**Labels** (the CSV column, or JSONL ``"label"``) are either all class numbers
``0, 1, ...`` (``num_classes`` = largest + 1) or all class names: the names are
sorted, class ``i`` is the ``i``-th name and ``class_names`` keeps them.  Numbers
with a fraction part, negative numbers, class numbers from :data:`MAX_CLASSES` up,
``true``/``false``, a CSV label ``nan`` or ``inf`` and a mix of numbers and names
are errors (``1.0`` is class 1).  A dataset with a single class loads (``notes``
says so); a model cannot learn anything from it.

**A JSONL file** holds one graph per line (blank lines are skipped), a JSON object
with these keys:

=============  ========  ==================================================================
key            needed    value
=============  ========  ==================================================================
``label``      yes       class number or class name (see above)
``edges``      yes       ``[[u, v], ...]``: node indices, whole numbers ``0 .. num_nodes - 1``,
                         may be ``[]``
``id``         no        a string or a whole number, unique in the file; every line has
                         one, all of one kind, or none has (default: the graph's position)
``num_nodes``  no        whole number, 1 .. :data:`MAX_NODES`; default ``len(x)``, else
                         ``len(levels)``, else the largest index in ``edges`` + 1
``directed``   no        ``true`` keeps ``edges`` as given; default ``false``: undirected,
                         every edge ``[u, v]`` stands for both directions
``x``          no        ``[[...], ...]``: one row of numbers per node, the node features
``levels``     no        ``[[l1, l2, ...], ...]``: one row per node, its group at level 1, 2,
                         ...; a group is a number or a name, ``null`` or a negative number
                         for none
``edge_attr``  no        ``[[...], ...]`` (or ``[w, ...]``): one row of numbers per edge
=============  ========  ==================================================================

Other keys are ignored (and named in ``notes``); a key twice in one object is an
error.  "Numbers" are JSON numbers: not ``true``/``false``, not strings such as
``"1.5"``; node indices are whole numbers written without a fraction (``1``, not
``1.0``).

**What every graph becomes** (a :class:`~torch_geometric.data.Data`):

* Nodes are numbered ``0 .. N-1`` in file order: the order of the GraphML node
  elements or of the node-link ``nodes`` list, the order of first appearance in an
  edge list.  Node ids may be any value (for node-link JSON, two ids are the same
  node when they are the same JSON value: ``1`` and ``1.0`` are two ids).
* ``edge_index``: int64 ``[2, E]``, sorted by (source, target).  Undirected graphs
  get both directions; directed ones (GraphML with ``edgedefault="directed"``,
  node-link or JSONL with ``"directed": true``) keep their direction.
  **Self-loops are dropped and repeated edges merged** (the same pair again, in
  either direction for an undirected graph), keeping the weight of the first one;
  ``notes`` counts them.
* ``edge_attr``: float32 ``[E, D]`` when edges carry weights: the third column of an
  edge list, the numeric ``weight`` attribute of GraphML / node-link edges (1.0
  where an edge has none), JSONL ``edge_attr``.  Once one graph of a dataset has
  them, every graph has them (1.0 for a graph without); when no graph has an edge
  left after dropping self-loops, there is no ``edge_attr`` (``notes`` says so).
  Other edge attributes are ignored.
* ``x``: float32 ``[N, F]``, the numeric node attributes, those that are a number
  (``bool`` counts as 0/1) on every node of the graph, or, in node-link JSON, a
  list of numbers of the same length on every node.  Columns are sorted by
  attribute name, digit runs compared as numbers (``f2`` before ``f10``); a list
  attribute ``a`` gives the columns ``a[0], a[1], ...`` in list order.  Every graph
  of a dataset must give the same columns, otherwise the loader names the file.
  ``notes`` names the columns and the attributes left out (a string such as
  ``"1.5"`` is not a number).  With no numeric node attribute anywhere (or
  ``node_features="degree"``), ``x`` is the degree features:
  one-hot degree ``0, 1, ..., DEGREE_CAP - 1, >= DEGREE_CAP`` then
  ``log(1 + degree)`` (:data:`NUM_DEGREE_FEATURES` columns; the degree counts
  edges after dropping self-loops and repeats, in + out for a directed graph).
  For JSONL, ``x`` is given or degree features for every graph.
* ``level_labels`` (:data:`~hipool.data.base.LEVEL_LABELS`): int64 ``[N, L]`` from
  the node attributes ``level1``, ``level2``, ... ``level32`` (:data:`MAX_LEVELS`; no
  ``level0``, no leading zero such as ``level01``) or JSONL ``levels``: column
  ``l - 1`` is the group at level ``l``.  Within each graph and level the groups
  are renumbered ``0 .. G-1`` in sorted order of their ids (numbers before names),
  so ids that already are ``0 .. G-1`` stay as they are.  ``-1`` where a node has
  no group (attribute absent, ``null``, negative).  ``L`` is the deepest level in
  the dataset; graphs with fewer levels (or none) are padded with ``-1``.  Present
  only when some graph has levels; level attributes never become features.
* ``y``: int64 ``[1]``; ``graph_id``: the file name, or the JSONL ``id``.

**Refused** rather than loaded: node features, edge weights and edge attributes
that are NaN, infinite, or beyond float32 (``|v| > 3.4e38``), which would turn into
``inf``; group ids that are NaN or infinite, or ``true``/``false``; anything not a
number where a number is expected (see above); a GraphML file with more than one
``<graph>``; a label (labels CSV or JSONL) holding a control character (NUL, ...); a
JSON string holding a lone UTF-16 surrogate (``"\\ud800"``: not text, no file or
terminal can show it); ``node_features`` naming an attribute twice or a level attribute.

**Bounds** (so that a small file cannot ask for unbounded memory): at most
:data:`MAX_NODES` (10 million) nodes per graph and :data:`MAX_TOTAL_NODES` (100
million) in a dataset; at most :data:`MAX_LEVELS` (32) hierarchy levels; class numbers
below :data:`MAX_CLASSES` (100 000); CSV
fields of at most :data:`MAX_CSV_FIELD` (131 072) characters; JSON nested no deeper
than Python's parser allows (about 1000 levels) and integers of at most 4300
digits (Python's limit).

Every problem is a :class:`ValueError` naming the file, the line where there is one
(edge lists, JSONL, the labels CSV, GraphML; JSON syntax errors with line and column), the
graph and what is wrong.
"""

from __future__ import annotations

from . import limits
from .dataset import degree_features
from .folder import load_graph_folder
from .jsonl import load_jsonl, save_jsonl
from .limits import (
    DEGREE_CAP,
    EDGE_LIST_SUFFIXES,
    GRAPH_SUFFIXES,
    MAX_CLASSES,
    MAX_CSV_FIELD,
    MAX_LEVELS,
    MAX_NODES,
    MAX_TOTAL_NODES,
    NUM_DEGREE_FEATURES,
)

__all__ = [
    "DEGREE_CAP",
    "EDGE_LIST_SUFFIXES",
    "GRAPH_SUFFIXES",
    "MAX_CLASSES",
    "MAX_CSV_FIELD",
    "MAX_LEVELS",
    "MAX_NODES",
    "MAX_TOTAL_NODES",
    "NUM_DEGREE_FEATURES",
    "degree_features",
    "load_graph_folder",
    "load_jsonl",
    "save_jsonl",
    "limits",
]
