r"""``gates[:key=value,...]``: a pass/fail benchmark on real gate-level circuits, labelled by
logic simulation.

Each graph is a **mutated copy of a sub-circuit of a real circuit** (ISCAS-85, ISCAS-89, EPFL):
a fan-in cone of a primary output or of a flip-flop's data input
(:mod:`~hipool.data.netlists.gatebench_cones`), with one mutation (a gate-type swap, two wires
exchanged between gates, an inverted input, a stuck-at-0 or stuck-at-1 net, a bridge between
two wires; :mod:`~hipool.data.netlists.gatebench_mutate`).  Its class is what simulation finds
(:func:`~hipool.data.netlists.equivalence.compare_functions`): ``pass`` (0) when the copy
computes the original's function (the mutation was redundant), ``fail`` (1) when it does not;
exhaustive for cones with at most ``exhaustive`` inputs, otherwise ``vectors`` random vectors
plus vectors that activate the mutation, and a copy that passes those is simulated again on
targeted and more random vectors (a ``pass`` there is "no difference found", not a proof).
Graphs come in pairs, a ``pass`` and a ``fail`` of the same cone and mutation kind, split
evenly over the kinds (:mod:`~hipool.data.netlists.gatebench_build`).

**Sources.**  Under the data root (``--data-root``, ``HIPOOL_DATA``, or hipool's download
folder), in ``<root>/circuits/<suite>`` or ``<root>/<suite>``: the suites ``iscas85``,
``iscas89`` (``.bench``) and ``epfl`` (its ``arithmetic/`` and ``random_control/``; of each
circuit's files the first of ``.bench``, ``.blif``, ``.aag``, ``.aig``: the BLIF, whose
covers become ``AND``/``OR``/``NOR`` gates, except ``hyp``, AIGER only).  Nothing is
downloaded: a suite in neither place is an error naming both.  A file that cannot be read is
left out and named in the notes.  Cones are deduplicated by structure, and a cone whose output
is constant on every vector of its check is left out (every mutation in it would pass).

**Graphs** are the gate-level graphs of :func:`~hipool.data.netlists.gates.to_data` (drivers
as nodes, wires as edges both ways, ``x`` the gate kind and log fan-in/fan-out, ``edge_attr``
direction, inversion and pin) with

* ``y``: 0 ``pass``, 1 ``fail``;
* ``mutation_kind``: int64 ``[1]``, the index into
  :data:`~hipool.data.netlists.gatebench_mutate.MUTATION_KINDS` (the dataset's
  :class:`~hipool.data.base.Breakdown`: ``hipool compare`` reports the accuracy per kind);
* ``mutation_mask``: bool ``[N]``, the mutated nodes, on every graph; ``defect_mask`` the
  same on ``fail`` graphs and all ``False`` on ``pass`` ones (the synthetic circuits'
  convention: a ``pass`` graph has no defect), the target of ``localize``;
* ``level_labels``: int64 ``[N, 2]``, fanout-free regions then regions of the original cone
  (:func:`~hipool.data.netlists.gatebench_cones.cone_level_labels`; a bridge's new gate joins
  the groups of the signal whose name it took), for ``pool: given``;
* ``exhaustive``: bool ``[1]``, whether the cone has at most ``exhaustive`` inputs (its label is
  then exact; a ``fail`` is exact in any case); ``source_circuit``: int64 ``[1]``,
  the index of its circuit in the dataset's sources; ``graph_id``: circuit, root, mutation.

Spec options (:data:`OPTIONS`), each at most once, within :data:`LIMITS`: ``n`` (graphs,
default 2000), ``seed`` (0), ``min`` / ``max`` (logic gates of a cone, 50 / 2000), ``exhaustive``
(most inputs simulated exhaustively, 16), ``vectors`` (random vectors otherwise, 4096),
``tries`` (most tries per graph of a kind's share, 100), ``suites`` (joined by ``+``, default
``iscas85+iscas89+epfl``), ``kinds`` (mutation kinds joined by ``+``, default all six), ``mark`` (0; 1 appends
``mutation_mask`` to ``x`` as a last feature column: the model is told *where* the circuit was
changed and asked whether its function changed, i.e. whether the fault is redundant; read
from the same cache as ``mark=0``).  An odd ``n`` gives ``n - 1`` graphs (they come in pairs).

**Cache.**  Built once (minutes for the default), then read from
``<cache>/gates/<key>.pt``, the key a hash of the options,
:data:`~hipool.data.netlists.gatebench_cache.FORMAT_VERSION` and the SHA-256 of every source
file (:mod:`~hipool.data.netlists.gatebench_cache`).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from tqdm.auto import tqdm

from ...io import PathLike, shown
from ..base import Breakdown, GraphDataset, as_path, load_cache, spec_number, spec_options
from .gatebench_build import CLASS_NAMES, CONFIRM, TARGETED, generate, is_constant, item_graph
from .gatebench_cache import FORMAT_VERSION, check, pack, rates_note, unpack
from .gatebench_cones import LEVEL_NAMES, cone_level_labels, dedupe, extract_cones
from .gatebench_mutate import MAX_ACTIVATING, MUTATION_KINDS, POOL_BATCH, POOL_BATCHES
from .gates import NUM_GATE_FEATURES, NetlistError

#: The suites, as the folders under ``<root>/circuits`` (or ``<root>``) are named.
SUITES: Tuple[str, ...] = ("iscas85", "iscas89", "epfl")
#: Of one circuit's files, the one read: the first ending of these it has.
ENDINGS: Tuple[str, ...] = (".bench", ".blif", ".aag", ".aig")
#: Spec keys: name -> (type, default).
OPTIONS: Dict[str, Tuple[type, Any]] = {
    "n": (int, 2000),
    "seed": (int, 0),
    "min": (int, 50),
    "max": (int, 2000),
    "exhaustive": (int, 16),
    "vectors": (int, 4096),
    "tries": (int, 100),
    "suites": (str, "+".join(SUITES)),
    "kinds": (str, "+".join(MUTATION_KINDS)),
    "mark": (int, 0),
}
#: Options that change what is read from the cache, not what is built (not in the cache key).
VIEW_OPTIONS = ("mark",)
#: Inclusive range of every numeric option.
LIMITS: Dict[str, Tuple[int, int]] = {
    "n": (2, 100_000),
    "seed": (0, 2**63 - 1),
    "min": (1, 100_000),
    "max": (1, 100_000),
    "exhaustive": (0, 24),
    "vectors": (4096, 1 << 20),
    "tries": (1, 100_000),
    "mark": (0, 1),
}
_LISTS = {"suites": SUITES, "kinds": MUTATION_KINDS}


def is_gates_spec(spec: str) -> bool:
    """Whether ``spec`` names the ``gates`` benchmark (with or without options)."""
    return spec.split(":", 1)[0] == "gates"


def parse_spec(spec: str) -> Dict[str, Any]:
    """``gates:n=600,max=400`` → the options, defaults filled in; a ``ValueError`` naming the
    spec and the option for anything else."""
    options = {key: default for key, (_, default) in OPTIONS.items()}
    example = "gates:n=2000,max=500,suites=iscas85+iscas89"
    for key, value in spec_options(spec, "gates", list(OPTIONS), example):
        if key in _LISTS:
            names = value.split("+")
            unknown = [v for v in names if v not in _LISTS[key]]
            if unknown or not value:
                raise ValueError(
                    f"dataset {shown(spec)}: {key}={shown(value)} names {shown('+'.join(unknown) or value)}; "
                    f"join some of {', '.join(_LISTS[key])} with '+'"
                )
            twice = sorted({v for v in names if names.count(v) > 1})
            if twice:
                raise ValueError(f"dataset {shown(spec)}: {key}={shown(value)} names {', '.join(twice)} twice")
            options[key] = "+".join(v for v in _LISTS[key] if v in names)  # canonical order
        else:
            options[key] = spec_number(spec, key, value, *LIMITS[key])
    if options["max"] < options["min"]:
        raise ValueError(f"dataset {shown(spec)}: max={options['max']} is below min={options['min']}")
    return options


def suite_folders(root: Path, suites: List[str]) -> Dict[str, Path]:
    """Each suite's folder: ``<root>/circuits/<suite>`` or else ``<root>/<suite>``; a suite in
    neither is a ``ValueError`` naming both places."""
    found, missing = {}, []
    for suite in suites:
        for base in (root / "circuits", root):
            if (base / suite).is_dir():
                found[suite] = base / suite
                break
        else:
            missing.append(suite)
    if missing:
        where = " or ".join(str(b / missing[0]) for b in (root / "circuits", root))
        raise ValueError(
            f"dataset gates: no {'+'.join(missing)} circuits under the data root {root} (looked for {where}); "
            f"give --data-root (or HIPOOL_DATA) naming the folder that holds circuits/{missing[0]}, or "
            f"suites= naming the suites you have"
        )
    return found


def circuit_files(folder: Path) -> List[Path]:
    """The circuit files of a suite's folder and its sub-folders, one per circuit (the first of
    :data:`ENDINGS` it has), sorted."""
    by_stem: Dict[Tuple[str, str], Path] = {}
    for p in sorted(folder.rglob("*")):
        if (
            p.suffix.lower() in ENDINGS
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ):
            key = (str(p.parent.relative_to(folder)), p.stem)
            if key not in by_stem or ENDINGS.index(p.suffix.lower()) < ENDINGS.index(by_stem[key].suffix.lower()):
                by_stem[key] = p
    return [by_stem[k] for k in sorted(by_stem)]


def _sources(root: Path, suites: List[str]) -> List[Tuple[str, Path]]:
    out = []
    for suite, folder in suite_folders(root, suites).items():
        files = circuit_files(folder)
        if not files:
            raise ValueError(f"dataset gates: {folder} holds no circuit ({', '.join(ENDINGS)})")
        out += [(f"{suite}/{p.relative_to(folder).with_suffix('').as_posix()}", p) for p in files]
    return out


def _cache_key(options: Dict[str, Any], sources: List[Tuple[str, Path]]) -> str:
    built = {k: v for k, v in options.items() if k not in VIEW_OPTIONS}
    h = hashlib.sha256(json.dumps({"v": FORMAT_VERSION, **built}, sort_keys=True).encode())
    for name, path in sources:
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def collect_cones(sources: List[Tuple[str, Path]], min_gates: int, max_gates: int, progress: bool = False):
    """The deduplicated cones of the source circuits, the names of the circuits, and notes."""
    from .dataset import read_netlist

    cones, names, notes, failed = [], [], [], []
    for name, path in tqdm(sources, desc="gates: cones", unit="circuit", disable=not progress, leave=False):
        try:
            netlist = read_netlist(path)
        except NetlistError as e:
            failed.append(str(e))
            continue
        names.append(name)
        cones += extract_cones(netlist, name, min_gates, max_gates)
    kept, dropped = dedupe(cones)
    if failed:
        notes.append(f"{len(failed)} circuit files could not be read and are left out; the first: {failed[0]}")
    notes.append(f"{len(kept)} cones of {min_gates}-{max_gates} gates ({dropped} duplicates dropped)")
    return kept, names, notes


def build(options: Dict[str, Any], sources: List[Tuple[str, Path]], progress: bool = False):
    """Build the benchmark: ``(graphs, circuit names, stats, notes, cones)``."""
    cones, names, notes = collect_cones(sources, options["min"], options["max"], progress)
    varied = []
    for cone in tqdm(cones, desc="gates: constant cones", unit="cone", disable=not progress, leave=False):
        try:
            if not is_constant(
                cone, exhaustive=options["exhaustive"], vectors=options["vectors"], seed=options["seed"]
            ):
                varied.append(cone)
        except NetlistError:  # a combinational loop in the source: not simulated
            pass
    if len(varied) < len(cones):
        notes.append(
            f"{len(cones) - len(varied)} cones left out: their output is constant on every vector simulated "
            f"(or they cannot be simulated), so nearly every mutation in them would pass"
        )
    cones = varied
    if not cones:
        raise ValueError(
            f"dataset gates: no cone of {options['min']}-{options['max']} logic gates in the circuits of "
            f"{options['suites']}; widen min/max"
        )
    result = generate(
        cones,
        options["n"],
        seed=options["seed"],
        kinds=options["kinds"].split("+"),
        exhaustive=options["exhaustive"],
        vectors=options["vectors"],
        tries=options["tries"],
        progress=progress,
    )
    levels: Dict[int, Any] = {}
    graphs = []
    for item in result.items:
        cone = cones[item.cone]
        if item.cone not in levels:
            levels[item.cone] = cone_level_labels(cone.netlist)
        graphs.append(item_graph(item, cone, names.index(cone.circuit), levels[item.cone]))
    stats = {k: s.to_dict() for k, s in result.stats.items()}
    return graphs, names, stats, notes + result.notes, len(cones)


def load_gates(
    spec: str = "gates",
    data_root: Optional[PathLike] = None,
    cache_dir: Optional[PathLike] = None,
    progress: bool = False,
) -> GraphDataset:
    """The ``gates`` benchmark ``spec`` names (see the module docstring), built once from the
    circuits under ``data_root`` and then read from ``cache_dir`` (default: hipool's cache folder)."""
    from ...io import atomic_torch_save, describe_os_error, remove_stale_temps
    from ..tu import default_cache_dir, default_data_root

    options = parse_spec(spec)
    root = as_path(data_root, "gates: data_root") if data_root is not None else default_data_root()
    try:
        sources = _sources(root, options["suites"].split("+"))
        key = _cache_key(options, sources)
    except OSError as e:
        raise ValueError(f"dataset gates: cannot read {describe_os_error(e)}") from None
    cache = as_path(cache_dir, "gates: cache_dir") if cache_dir is not None else default_cache_dir()
    path = cache / "gates" / f"{key}.pt"

    def checked(packed: Dict[str, Any]):
        check(packed, -1)
        return packed

    try:
        remove_stale_temps(path.parent)
        packed = load_cache(path, "gates cache", checked, "building the benchmark again")
    except OSError:
        packed = None
    if packed is not None:
        graphs = unpack(packed)
    else:
        t0 = time.perf_counter()
        graphs, names, stats, notes, num_cones = build(options, sources, progress)
        notes.append(f"built in {time.perf_counter() - t0:.0f} s")
        packed = pack(graphs, names, stats, notes, num_cones)
        try:
            atomic_torch_save(packed, path)
        except OSError as e:
            warnings.warn(f"gates: not cached ({describe_os_error(e)}); it will be built again next time", stacklevel=2)
    if options["mark"]:
        for g in graphs:
            g.x = torch.cat([g.x, g.mutation_mask.to(g.x.dtype).unsqueeze(1)], dim=1)
    exact = sum(bool(g.exhaustive) for g in graphs)
    passes = sum(int(g.y) == 0 and not bool(g.exhaustive) for g in graphs)
    notes = list(packed["notes"]) + [
        rates_note(packed["stats"]),
        f"{exact} of {len(graphs)} labels exhaustive (exact); every fail has a vector that tells the copies "
        f"apart; {passes} passes are 'no difference found' on {options['vectors']} + {CONFIRM} random, "
        f"{MAX_ACTIVATING} activating, {TARGETED} targeted and {POOL_BATCHES * POOL_BATCH} weighted vectors",
    ]
    return GraphDataset(
        name=spec,
        graphs=graphs,
        num_features=NUM_GATE_FEATURES + options["mark"],
        num_classes=len(CLASS_NAMES),
        class_names=list(CLASS_NAMES),
        source=f"{root} ({', '.join(f'{k}={v}' for k, v in options.items())})",
        notes=notes,
        breakdown=Breakdown("mutation_kind", MUTATION_KINDS),
        level_names=LEVEL_NAMES,
    )


def gates_stats(dataset: GraphDataset) -> Dict[str, Any]:
    """Size, class balance and kinds of a built ``gates`` dataset (for the docs and the tests)."""
    counts: Dict[str, Dict[str, int]] = {k: {"pass": 0, "fail": 0} for k in MUTATION_KINDS}
    for g in dataset:
        counts[MUTATION_KINDS[int(g.mutation_kind)]][CLASS_NAMES[int(g.y)]] += 1
    return {
        "graphs": len(dataset),
        "per_kind": counts,
        "pass": sum(c["pass"] for c in counts.values()),
        "fail": sum(c["fail"] for c in counts.values()),
        "exhaustive": sum(bool(g.exhaustive) for g in dataset),
    }


__all__ = [
    "ENDINGS",
    "LIMITS",
    "OPTIONS",
    "SUITES",
    "VIEW_OPTIONS",
    "build",
    "circuit_files",
    "collect_cones",
    "gates_stats",
    "is_gates_spec",
    "load_gates",
    "parse_spec",
    "suite_folders",
]
