"""Pictures of one graph and of its pooling hierarchy.

* :func:`~hipool.explain.plot.hierarchy.plot_hierarchy` draws one panel per level,
  each with the same layout of the *original* graph: at level ``l`` every original
  node is coloured by the pooled node it ended up in, and nodes dropped on the way
  (``-1``, see :data:`hipool.record.DROPPED`) are drawn small and light grey.
  Level 0 is the original graph, coloured by ``ground_truth`` when given (e.g.
  community ids), else in one colour.
* :func:`~hipool.explain.plot.coarsened.plot_coarsened` draws the coarsened graph
  of every pooled level: each pooled node at the centre of its original members,
  with the same colour as in the hierarchy picture, and the pooled edges (by weight
  for clustering poolers).
* :func:`~hipool.explain.plot.graph.plot_graph` draws the original graph alone, in
  one large panel.
* :func:`~hipool.explain.plot.layout.layout_positions` computes the node positions
  all three share; its ``"structure"`` layout places nested ground-truth groups
  (e.g. the blocks of a circuit inside its subsystems) as visible clumps.

matplotlib and networkx are optional dependencies (``pip install 'hipool[plot]'``);
they are imported only when a picture is drawn.  The figure is rendered with the
Agg canvas directly (no pyplot, no GUI, no global backend change).  Marker sizes,
edge widths and transparency, and the figure size scale with the number of nodes,
so that a graph of a few thousand nodes stays readable.

The package, one job a module:

* ``layout.py``: the node positions, and the networkx layouts they may come from;
* ``engine.py``: hipool's own layouts (spring by component, structure);
* ``hierarchy.py``, ``coarsened.py``, ``graph.py``: one picture each;
* ``draw.py``: what the pictures share (colours, sizes, panels, notes, saving);
* ``checks.py``: the argument checks, with messages that name the argument.
"""

from .coarsened import plot_coarsened
from .graph import plot_graph
from .hierarchy import plot_hierarchy
from .layout import layout_positions

__all__ = ["layout_positions", "plot_coarsened", "plot_graph", "plot_hierarchy"]
