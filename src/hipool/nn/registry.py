"""The pooler registry: one :class:`PoolerSpec` per pooler, read by everything that names one.

The model config (:mod:`hipool.config`) checks ``pool``, ``schedule``, ``pool_options`` and
``aux_weights`` against it; the models (:mod:`hipool.nn.models`) build their poolers with
:meth:`PoolerSpec.build`; the named models (:mod:`hipool.presets`) take each pooler's
default schedule from it; ``hipool poolers`` prints it and the README's pooler table is
generated from it (:func:`markdown_table`; a test fails when the README is out of date).

Adding a pooler is two files: its module (a ``torch.nn.Module`` returning a
:class:`~hipool.record.PoolOutput`) and one :class:`PoolerSpec` in :data:`REGISTRY` below.
The contract test (``tests/nn/test_contract.py``) then runs it, and the config, the
models, ``hipool compare`` and ``hipool explain`` take it by name.

A spec's config options are read from the class's constructor, one rule for every pooler
(:meth:`PoolerSpec.options`): every named parameter of the ``__init__`` of the class and
of its bases up to ``torch.nn.Module``, except ``in_channels`` and the argument the
schedule fills (:attr:`PoolerSpec.entry_arg`); a parameter that takes a class (``GNN``)
is offered as a name instead (:attr:`PoolerSpec.choices`).
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import torch
from torch_geometric.nn import GCNConv, GraphConv, SAGEConv

from .asap import ASAPooling
from .bnpool import BNPool
from .clustering import DiffPool, DMoNPool, MinCutPool
from .contraction import EdgePool, Graclus
from .cut_poolers import ACCPool, HOSCPool, JustBalancePool
from .eigenpool import EigenPool
from .given import GIVEN, GivenPool
from .kmis import KMISPooling
from .lapool import LaPool
from .maxcut import MaxCutPool
from .ndp import NDPPooling
from .nmf import NMFPool
from .pan import PANPooling
from .selection import SAGPooling, TopKPooling
from .sep import SEPPooling

#: The pooler families, in the order the table lists them.
FAMILIES = ("selection", "clustering", "contraction", "given")

#: The schedule entry of a pooler whose method sets each graph's pooled size itself (NDP's
#: spectral cut, SEP's coding tree).
NATURAL = "natural"

#: What a level's schedule entry is, per kind of entry (:attr:`PoolerSpec.entry`).
ENTRIES = {
    "ratio": "a float (fraction kept) or an int (nodes kept per graph)",
    "count": "an int (clusters per graph)",
    "order": "an int k (kept nodes more than k hops apart)",
    "pairs": "0.5 (matched pairs merged)",
    "natural": "'natural' (the method sets the size)",
    "given": "'given' (the data's groups)",
}

#: How a pooler holds a graph (:attr:`PoolerSpec.layout`).
LAYOUTS = {
    "sparse": "edge lists only: memory grows with the edges",
    "sparse or dense": "either: per batch (mode: auto | dense | sparse), per graph size (eigenpool: dense_limit, "
    "nmf: dense_max_nodes) or by the loss (bnpool: recon)",
    "dense per graph": "an n x n matrix per graph (a size limit applies)",
}

#: The only schedule entry of the kinds that take one value.
FIXED_ENTRIES: Dict[str, Union[float, str]] = {"pairs": 0.5, "natural": NATURAL, "given": GIVEN}

#: Why a fixed entry is the only one (the config's message when another is given).
FIXED_REASONS = {
    "pairs": "merges matched pairs of nodes, which at most halves a graph",
    "natural": "sets each graph's pooled size itself",
    "given": "pools along the data's known groups, which set its size",
}


@dataclass(frozen=True)
class PoolerSpec:
    """Everything hipool knows of one pooler, in one place.

    Attributes:
        name: its config name (``pool: <name>``).
        cls: the pooler class, called as ``cls(in_channels, entry, **options)`` (``entry``
            only when :attr:`entry_arg` is set).
        family: ``selection``, ``clustering``, ``contraction`` or ``given``.
        entry: what a schedule entry is for it: ``ratio`` (a float or an int),
            ``count`` (an int: clusters), ``order`` (an int ``k``: k-MIS's hop distance),
            ``pairs`` (``0.5`` only: pair merging), ``natural`` (the word ``natural``: the
            method sets the sizes) or ``given`` (the word ``given``: the data sets the sizes).
        summary: one line for tables and help.
        paper: the paper it implements (authors, title, venue and year).
        entry_arg: the constructor argument the schedule entry fills (``None``: none).
        weighted: whether its pooled graphs carry edge weights it computes (not only the ones it
            is given: building a model warns when the conv after it ignores them).
        deterministic: whether its output depends only on the input graph (not on node
            order or seeds), so that it is permutation-equivariant in evaluation mode.
        default_schedule: the named models' schedule for it: ratios for ``ratio``;
            fractions of the dataset's mean graph size for ``count``
            (:func:`hipool.presets.default_schedule`); ignored for ``given``.
        layout: how it holds a graph, one of :data:`LAYOUTS`: ``sparse`` (edge lists only),
            ``sparse or dense`` (a ``mode`` option chosen per batch, a size threshold, or an
            option) or ``dense per graph`` (an ``n × n`` matrix per graph, up to a size limit).
        sizeable: whether ``forward`` takes ``sizes=`` (the per-graph sizes of ``schedule: auto``).
        choices: options a config gives by name, each one of a table: a class (SAG's ``gnn``) or a
            value of a closed set (EdgePool's ``edge_score_method``), ``{option: (argument, {name: value})}``.
    """

    name: str
    cls: type
    family: str
    entry: str
    summary: str
    paper: str
    entry_arg: Optional[str] = None
    weighted: bool = False
    deterministic: bool = True
    default_schedule: Tuple[float, ...] = (0.5, 0.5)
    sizeable: bool = True
    layout: str = "sparse"
    choices: Mapping[str, Tuple[str, Mapping[Any, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"PoolerSpec {self.name!r}: 'family' must be one of {', '.join(FAMILIES)}, got {self.family!r}"
            )
        if self.entry not in ENTRIES:
            raise ValueError(
                f"PoolerSpec {self.name!r}: 'entry' must be one of {', '.join(ENTRIES)}, got {self.entry!r}"
            )
        if self.layout not in LAYOUTS:
            raise ValueError(
                f"PoolerSpec {self.name!r}: 'layout' must be one of {', '.join(LAYOUTS)}, got {self.layout!r}"
            )
        if (self.entry_arg is None) != (self.entry in FIXED_ENTRIES):
            raise ValueError(
                f"PoolerSpec {self.name!r}: a {self.entry!r} entry "
                f"{'is not' if self.entry in FIXED_ENTRIES else 'is'} passed to the class "
                f"(entry_arg={self.entry_arg!r})"
            )

    # -- facts -----------------------------------------------------------------
    @property
    def needs_count(self) -> bool:
        """Whether its schedule entry must be an int (a number of clusters)."""
        return self.entry == "count"

    @property
    def needs_int(self) -> bool:
        """Whether its schedule entry must be an int (clusters, or k-MIS's hop distance)."""
        return self.entry in ("count", "order")

    @property
    def fixed_entry(self) -> Optional[Union[float, str]]:
        """The only schedule entry it takes (``0.5`` for pair merging, ``'given'``), or ``None``."""
        return FIXED_ENTRIES.get(self.entry)

    @property
    def losses(self) -> Tuple[str, ...]:
        """Names of its auxiliary losses (the class's ``LOSSES``; none for most)."""
        return tuple(getattr(self.cls, "LOSSES", ()))

    @cached_property
    def options(self) -> Tuple[str, ...]:
        """The ``pool_options`` keys it takes, sorted (the rule is in the module docstring; read
        once from the signatures)."""
        names = set()
        for klass in self.cls.__mro__:
            if klass is torch.nn.Module or not issubclass(klass, torch.nn.Module):
                break
            if "__init__" not in vars(klass):
                continue
            for p in list(inspect.signature(klass.__init__).parameters.values())[1:]:
                if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    continue
                if p.name != "in_channels" and p.name != self.entry_arg:
                    names.add(p.name)
        for option, (argument, _) in self.choices.items():
            names.discard(argument)
            names.add(option)
        return tuple(sorted(names))

    @cached_property
    def learned(self) -> bool:
        """Whether it has trainable parameters of its own (built on the meta device to tell)."""
        entry = self.example_entry()
        with torch.device("meta"):
            module = self.build(4, entry, {})
        return any(p.requires_grad for p in module.parameters())

    def example_entry(self) -> Union[float, int, str]:
        """A valid schedule entry (for tests and the table)."""
        if self.fixed_entry is not None:
            return self.fixed_entry
        return 2 if self.needs_count else 1 if self.entry == "order" else 0.5

    # -- building --------------------------------------------------------------
    def check_entry(self, entry: Any) -> None:
        """A ``ValueError`` when this pooler takes one fixed entry and ``entry`` is another, or an
        ``order`` entry that is not an int >= 1 (the class checks the others: a count must be an
        int, a ratio in range)."""
        fixed = self.fixed_entry
        if fixed is not None and (isinstance(entry, bool) or entry != fixed):
            raise ValueError(f"model config: {self.name} takes the schedule entry {fixed!r} only, got {entry!r}")
        if self.entry == "order" and (isinstance(entry, bool) or not isinstance(entry, int) or entry < 1):
            raise ValueError(f"model config: {self.name} takes {ENTRIES[self.entry]} as its entry, got {entry!r}")

    def check_options(self, options: Mapping[str, Any]) -> Dict[str, Any]:
        """``options`` as a dict, every key one of :attr:`options`."""
        if not isinstance(options, Mapping):
            raise ValueError(f"model config: {self.name}'s 'pool_options' must be a mapping, got {options!r}")
        unknown = sorted(set(options) - set(self.options), key=str)
        if unknown:
            raise ValueError(
                f"model config: 'pool_options' {unknown} do not apply to {self.name}; "
                f"allowed: {', '.join(self.options)}"
            )
        return dict(options)

    def build(self, in_channels: int, entry: Any, options: Mapping[str, Any]) -> torch.nn.Module:
        """The pooler for a level of width ``in_channels`` with schedule entry ``entry``.

        Raises:
            ValueError: naming the pooler, for an entry it does not take, an option it
                does not have, or a value its constructor refuses.
        """
        self.check_entry(entry)
        kwargs = self.check_options(options)
        for option, (argument, table) in self.choices.items():
            if option in kwargs:
                value = kwargs.pop(option)
                if not isinstance(value, (str, type(None))) or value not in table:
                    names = ", ".join("null" if k is None else k for k in table)
                    raise ValueError(f"model config: {self.name}'s {option!r} must be one of {names}, got {value!r}")
                kwargs[argument] = table[value]
        args = (in_channels,) if self.entry_arg is None else (in_channels, entry)
        try:
            return self.cls(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise ValueError(f"model config: {self.name}: {e}") from None

    def row(self) -> Dict[str, Any]:
        """The spec as plain data (``hipool poolers --json``)."""
        return {
            "name": self.name,
            "family": self.family,
            "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
            "schedule_entry": self.entry,
            "fixed_entry": self.fixed_entry,
            "losses": list(self.losses),
            "weighted": self.weighted,
            "deterministic": self.deterministic,
            "sizeable": self.sizeable,
            "layout": self.layout,
            "learned": self.learned,
            "options": list(self.options),
            "default_schedule": list(self.default_schedule),
            "summary": self.summary,
            "paper": self.paper,
        }


class Registry(Mapping[str, PoolerSpec]):
    """Pooler specs by name, in registration order (a read-only mapping plus :meth:`register`)."""

    def __init__(self) -> None:
        self._specs: Dict[str, PoolerSpec] = {}

    def register(self, spec: PoolerSpec) -> PoolerSpec:
        """Add ``spec``; a name already taken, or one that is not a plain identifier, is refused."""
        if not isinstance(spec, PoolerSpec):
            raise TypeError(f"register: expected a PoolerSpec, got {type(spec).__name__}")
        if not spec.name.isidentifier() or spec.name != spec.name.lower() or spec.name == "none":
            raise ValueError(f"register: a pooler name is a lower-case identifier other than 'none', got {spec.name!r}")
        if spec.name in self._specs:
            raise ValueError(f"register: a pooler named {spec.name!r} is registered already")
        self._specs[spec.name] = spec
        return spec

    def __getitem__(self, name: str) -> PoolerSpec:
        try:
            return self._specs[name]
        except (KeyError, TypeError):
            raise KeyError(self.unknown_message(name)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def family(self, family: str) -> List[str]:
        """The names of one family, in registration order."""
        return [n for n, s in self._specs.items() if s.family == family]

    def unknown_message(self, name: Any) -> str:
        close = difflib.get_close_matches(str(name)[:100], list(self._specs), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown pooler {str(name)[:100]!r}; {hint}choose from {', '.join(self._specs)}"


#: Every pooler hipool has, by config name.
REGISTRY = Registry()

_SAG_GNNS = {"graphconv": GraphConv, "gcn": GCNConv, "sage": SAGEConv}
#: A config names EdgePool's score function (the class also takes a callable, which YAML cannot hold).
_EDGE_SCORES = {"softmax": "softmax", "tanh": "tanh", "sigmoid": "sigmoid"}
_ASAP_GNNS = {"graphconv": GraphConv, "gcn": GCNConv, None: None}

for _spec in (
    PoolerSpec(
        "topk",
        TopKPooling,
        "selection",
        "ratio",
        entry_arg="ratio",
        summary="keep the top nodes by a learned projection score, gated by it",
        paper="Gao & Ji, Graph U-Nets, ICML 2019; Cangea et al., arXiv:1811.01287, 2018",
    ),
    PoolerSpec(
        "sag",
        SAGPooling,
        "selection",
        "ratio",
        entry_arg="ratio",
        choices={"gnn": ("GNN", _SAG_GNNS)},
        summary="keep the top nodes by a GNN's self-attention score",
        paper="Lee, Lee & Kang, Self-Attention Graph Pooling, ICML 2019",
    ),
    PoolerSpec(
        "asap",
        ASAPooling,
        "selection",
        "ratio",
        entry_arg="ratio",
        choices={"gnn": ("GNN", _ASAP_GNNS)},
        summary="attention clusters of each node's neighbourhood, the best-scored kept",
        paper="Ranjan, Sanyal & Talukdar, ASAP, AAAI 2020",
    ),
    PoolerSpec(
        "pan",
        PANPooling,
        "selection",
        "ratio",
        entry_arg="ratio",
        weighted=True,
        summary="keep the top nodes by features and path-integral weight (MET matrix over walks)",
        paper="Ma et al., Path Integral Based Convolution and Pooling for Graph Neural Networks, NeurIPS 2020",
    ),
    PoolerSpec(
        "maxcut",
        MaxCutPool,
        "selection",
        "ratio",
        entry_arg="ratio",
        weighted=True,
        summary="keep the top nodes of a score net trained by a max-cut loss; the others join the nearest",
        paper="Abate & Bianchi, MaxCutPool: differentiable feature-aware Maxcut for pooling in graph neural "
        "networks, ICLR 2025",
    ),
    PoolerSpec(
        "kmis",
        KMISPooling,
        "selection",
        "order",
        entry_arg="k",
        weighted=True,
        sizeable=False,
        default_schedule=(1, 1),
        summary="centres: a maximal independent set of the k-th power graph; each node joins its nearest",
        paper="Bacciu, Conte & Landolfi, Generalizing Downsampling from Regular Data to Graphs, AAAI 2023",
    ),
    PoolerSpec(
        "ndp",
        NDPPooling,
        "selection",
        "natural",
        weighted=True,
        sizeable=False,
        layout="dense per graph",
        summary="keep one side of each graph's spectral max-cut, joined by Kron reduction; not learned",
        paper="Bianchi, Grattarola, Livi & Alippi, Hierarchical Representation Learning in GNNs with "
        "Node Decimation Pooling, IEEE TNNLS 2020",
    ),
    PoolerSpec(
        "diffpool",
        DiffPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="soft assignment by a GNN; link-prediction and entropy losses",
        paper="Ying et al., Hierarchical Graph Representation Learning with Differentiable Pooling, NeurIPS 2018",
    ),
    PoolerSpec(
        "mincut",
        MinCutPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="soft assignment trained by a relaxed normalised min-cut and orthogonality",
        paper="Bianchi, Grattarola & Alippi, Spectral Clustering with Graph Neural Networks for "
        "Graph Pooling, ICML 2020",
    ),
    PoolerSpec(
        "dmon",
        DMoNPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="soft assignment trained by modularity with a collapse regulariser",
        paper="Tsitsulin et al., Graph Clustering with Graph Neural Networks, JMLR 2023",
    ),
    PoolerSpec(
        "justbalance",
        JustBalancePool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="soft assignment of message-passed features trained by a balance loss alone",
        paper="Bianchi, Simplifying Clustering with Graph Neural Networks, NLDL 2023",
    ),
    PoolerSpec(
        "hosc",
        HOSCPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="soft assignment trained by min-cut on edges and triangle motifs, with orthogonality",
        paper="Duval & Malliaros, Higher-order Clustering and Pooling for Graph Neural Networks, CIKM 2022",
    ),
    PoolerSpec(
        "acc",
        ACCPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="soft assignment trained by total variation and an asymmetric-norm balance (Cheeger cut)",
        paper="Hansen & Bianchi, Total Variation Graph Neural Networks, ICML 2023",
    ),
    PoolerSpec(
        "lapool",
        LaPool,
        "clustering",
        "natural",
        weighted=True,
        sizeable=False,
        summary="leaders where the Laplacian signal variation peaks; the others attach by sparsemax similarity",
        paper="Noutahi et al., Towards Interpretable Sparse Graph Representation Learning with Laplacian "
        "Pooling, arXiv:1905.11577, 2019",
    ),
    PoolerSpec(
        "nmf",
        NMFPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="clusters from a non-negative factorisation of each graph's adjacency; not learned",
        paper="Bacciu & Di Sotto, A Non-Negative Factorization approach to node pooling in Graph "
        "Convolutional Neural Networks, AI*IA 2019",
    ),
    PoolerSpec(
        "eigenpool",
        EigenPool,
        "clustering",
        "count",
        entry_arg="num_clusters",
        weighted=True,
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="spectral clustering into subgraphs, pooled by each subgraph's Laplacian eigenvectors; not learned",
        paper="Ma, Wang, Aggarwal & Tang, Graph Convolutional Networks with EigenPooling, KDD 2019",
    ),
    PoolerSpec(
        "bnpool",
        BNPool,
        "clustering",
        "count",
        entry_arg="max_clusters",
        weighted=True,
        sizeable=False,  # it learns how many clusters a graph uses: sizes can cap it, not aim it
        default_schedule=(0.5, 0.25),
        layout="sparse or dense",
        summary="stick-breaking memberships: the clusters used are learned per graph, up to the entry",
        paper="Castellana & Bianchi, BN-Pool: a Bayesian Nonparametric Approach to Graph Pooling, "
        "arXiv:2501.09821, 2025",
    ),
    PoolerSpec(
        "edgepool",
        EdgePool,
        "contraction",
        "pairs",
        choices={"edge_score_method": ("edge_score_method", _EDGE_SCORES)},
        summary="contract a matching of the best-scored edges (learned edge scores)",
        paper="Diehl, Edge Contraction Pooling for Graph Neural Networks, arXiv:1905.10990, 2019",
    ),
    PoolerSpec(
        "graclus",
        Graclus,
        "contraction",
        "pairs",
        deterministic=False,
        summary="merge heavy-edge matched pairs by normalised cut; not learned",
        paper="Dhillon, Guan & Kulis, Weighted Graph Cuts without Eigenvectors, TPAMI 2007",
    ),
    PoolerSpec(
        "sep",
        SEPPooling,
        "contraction",
        "natural",
        weighted=True,
        sizeable=False,
        summary="merge the bottom communities of a coding tree of minimum structural entropy; not learned",
        paper="Wu et al., Structural Entropy Guided Graph Hierarchical Pooling, ICML 2022",
    ),
    PoolerSpec(
        "given",
        GivenPool,
        "given",
        "given",
        default_schedule=(),
        sizeable=False,
        summary="merge the groups the data already knows (level_labels); not learned",
        paper="(none: the data's own hierarchy, e.g. subcircuits or functional groups)",
    ),
):
    REGISTRY.register(_spec)


def markdown_table(registry: Optional[Mapping[str, PoolerSpec]] = None) -> str:
    """The pooler table of the README (``hipool poolers --markdown``), one row per pooler."""
    specs = list((registry if registry is not None else REGISTRY).values())
    lines = [
        "| name | family | schedule entry | learned | layout | losses | summary | paper |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        lines.append(
            f"| `{s.name}` | {s.family} | {ENTRIES[s.entry]} | {'yes' if s.learned else 'no'} | {s.layout} | "
            f"{', '.join(s.losses) or '—'} | {s.summary} | {s.paper} |"
        )
    return "\n".join(lines) + "\n"


def text_table(registry: Optional[Mapping[str, PoolerSpec]] = None) -> str:
    """The pooler table for a terminal (``hipool poolers``)."""
    specs = list((registry if registry is not None else REGISTRY).values())
    header = ("name", "family", "entry", "learned", "layout", "losses", "summary")
    rows = [header] + [
        (s.name, s.family, s.entry, "yes" if s.learned else "no", s.layout, ",".join(s.losses) or "-", s.summary)
        for s in specs
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    out = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows]
    out.append("")
    out.append("entry: " + "; ".join(f"{k} = {v}" for k, v in ENTRIES.items()))
    out.append("layout: " + "; ".join(f"{k} = {v}" for k, v in LAYOUTS.items()))
    return "\n".join(out) + "\n"
