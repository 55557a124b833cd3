r"""Real analog-circuit benchmarks, loadable by name: ``align_ota`` and ``analoggenie``.

Both are folders of SPICE/Spectre netlists read by :mod:`hipool.data.netlists` into the
device-net graphs of :mod:`hipool.data.netlists.analog` (one graph per design, its
subcircuit instances in ``level_labels``, so ``pool: given`` pools along the designer's
hierarchy).  Each is looked for under the data root (``--data-root``, ``HIPOOL_DATA``, or
hipool's download folder), as ``<root>/<name>`` or ``<root>/spice/<name>``, and downloaded
from GitHub at a pinned commit when it is in neither place.  A netlist that fails to read
is left out and named in the dataset's notes (none of the shared copies fails).

``align_ota[:label=ended|topology]`` — ALIGN's unsized OTA netlists
--------------------------------------------------------------------
From ``ALIGN-analoglayout/ALIGN-public`` (BSD-3-Clause; Kunal et al., DAC 2019),
``CircuitsDatabase/Unsized_Netlists/Low frequency analog/OTA_topologies/full_OTA``: complete
OTAs with biasing, as CDL netlists, in ``fully_differential_OTA/`` and ``single_ended_OTA/``.
Each design instantiates its signal path, a local bias generator and a bias circuit as
subcircuits, so ``level_labels`` has one column: those three instances.

* ``label=ended`` (default): fully differential (class 0) vs single-ended (class 1), from the folder.
* ``label=topology``: the signal path's family, read from the file name
  ``<ended>_<path>_LG_<local generator>_cr<bias>_<k>.sp``, where ``<path>`` is merged into
  :data:`OTA_FAMILIES`: the ``_pmos`` variants (a PMOS input pair) join their NMOS family,
  and the two low-voltage cascodes (``low_voltage_cascode_current_mirror``,
  ``low_voltage_cascode_pmos``) form one; an empty ``<path>`` is ``basic`` (the plain
  five-transistor OTA).  A path the table does not know is an error naming the file.

``analoggenie[:min_class=N]`` — AnalogGenie's circuits by function
-------------------------------------------------------------------
From ``xz-group/AnalogGenie`` (MIT; Gao et al., ICLR 2025), ``Dataset/<id>/<id>.cir``:
3,350 Spectre netlists drawn from five textbooks and a set of papers.  Where
``<id>_full.cir`` exists (the design with the definitions of the subcircuits it
instantiates; 32 designs, and one ``813_full.txt``), it is read instead of ``<id>.cir``, which instantiates those
subcircuits without defining them.  ``Port<id>.txt`` names the design's pins: they are
marked ``is_port``.

The labels come from ``Dataset/data_categorization.md``, which assigns id ranges to 71
textbook chapters and paper categories; :data:`ANALOGGENIE_CLASSES` merges them into
functional classes (switched-capacitor, LDO/regulator, op-amp, bandgap/reference, power
converter, oscillator/VCO, amplifier stage, current mirror/bias, RF front end, comparator,
PLL/synthesizer, filter).  Chapters that name no function (``odds and ends``,
``nanometer design studies``, ``layout and packaging``, ``nonlinear analog circuits``,
devices, processing) and the data converters (9 designs) are dropped, and so are ids in no
range; a merged class with fewer than ``min_class`` designs (default 40: ``filter``, 22) is
dropped too.  The notes say what was dropped and how many.
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from tqdm.auto import tqdm

from ...io import PathLike, shown
from ..base import GraphDataset

#: Where each benchmark comes from: (GitHub repository, commit, folder in it).
SOURCES: Dict[str, Tuple[str, str, str]] = {
    "align_ota": (
        "ALIGN-analoglayout/ALIGN-public",
        "755b574c06047069f2d913b271e69c9f2c82c021",
        "CircuitsDatabase/Unsized_Netlists/Low frequency analog/OTA_topologies/full_OTA",
    ),
    "analoggenie": ("xz-group/AnalogGenie", "efc25358939c6bedd247f28d3df61066964f3a90", "Dataset"),
}
#: The benchmark names :func:`load_benchmark` takes.
BENCHMARKS: Tuple[str, ...] = tuple(SOURCES)

#: ALIGN OTA signal-path families: the file name's ``<path>`` → family.
OTA_FAMILIES: Dict[str, str] = {
    "": "basic",
    "pmos": "basic",
    "cascode": "cascode",
    "cascode_pmos": "cascode",
    "telescopic": "telescopic",
    "telescopic_pmos": "telescopic",
    "current_mirror": "current_mirror",
    "current_mirror_pmos": "current_mirror",
    "cascode_current_mirror": "cascode_current_mirror",
    "cascode_current_mirror_pmos": "cascode_current_mirror",
    "low_voltage_cascode_current_mirror": "low_voltage_cascode",
    "low_voltage_cascode_pmos": "low_voltage_cascode",
    "gain_boosting": "gain_boosting",
    "miller_compensated": "miller_compensated",
    "miller_compensated_pmos": "miller_compensated",
    "two_stage": "two_stage",
}
_OTA_NAME = re.compile(r"^(fully_differential|single_ended)_(?:(.*)_)?LG_.*\.sp$", re.IGNORECASE)

#: AnalogGenie: functional class → the categories of ``data_categorization.md`` it merges.
ANALOGGENIE_CLASSES: Dict[str, Tuple[str, ...]] = {
    "switched-capacitor": (
        "switched-capacitor sampler",
        "switched-capacitor circuits",
        "intro to switched capacitor circuits",
        "sample-and-hold and translinear circuits",
    ),
    "LDO/regulator": ("LDO papers", "voltage regulation", "power"),
    "op-amp": (
        "opamp",
        "operational amplifiers",
        "high-performance CMOS op amps",
        "basic opamp design and compensation",
        "operational amplifiers with single-ended outputs",
        "CMOS operational amplifiers",
        "fully differential operational amplifiers",
        "stability and frequency compensation",
        "transconductance amplifiers",
    ),
    "bandgap/reference": ("bandgap reference", "bandgap references"),
    "power converter": ("power converter papers",),
    "oscillator/VCO": ("VCO papers", "oscillators", "timers and oscillators"),
    "amplifier stage": (
        "single-stage amplifier",
        "differential amplifier",
        "the royal differential pair",
        "CMOS amplifiers",
        "single-transistor and multiple-transistor amplifiers",
        "output stages",
        "feedback",
        "feedback amplifiers",
        "noise",
        "nonlinearity and mismatch",
        "frequency response of amplifiers",
        "frequency response of electronic circuits",
        "frequency response of integrated circuits",
        "frequency response and stability of feedback amplifiers",
    ),
    "current mirror/bias": (
        "current mirror and bias",
        "current mirrors",
        "current sources",
        "current mirrors, active loads, and references",
        "basic current mirrors and single-stage amplifiers",
        "analog CMOS subcircuits",
    ),
    "RF front end": (
        "low noise amplifiers",
        "LNA papers",
        "mixer",
        "mixer papers",
        "power amplifiers",
        "PA papers",
        "basic concepts in RF design",
        "transceiver architectures",
        "transceiver design example",
    ),
    "comparator": ("comparator papers", "comparators"),
    "PLL/synthesizer": (
        "phase locked loop",
        "phase-locked loops",
        "the phase-locked loop",
        "integer-N frequency synthesizers",
        "fractional-N synthesizers",
    ),
    "filter": ("continuous-time filters", "filters"),
}
#: Longest id range one line of ``data_categorization.md`` may give (the largest real one: 872).
MAX_RANGE = 100_000
#: Default smallest class kept (``analoggenie:min_class=N``).
MIN_CLASS = 40


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    label: str = "ended"
    min_class: int = MIN_CLASS


def is_benchmark(spec: str) -> bool:
    """Whether ``spec`` names one of :data:`BENCHMARKS` (with or without options)."""
    return spec.split(":", 1)[0] in BENCHMARKS


def parse_spec(spec: str) -> BenchmarkSpec:
    """``align_ota[:label=ended|topology]`` or ``analoggenie[:min_class=N]``; a ``ValueError`` naming
    a bad option."""
    name, _, rest = spec.partition(":")
    options: Dict[str, str] = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ValueError(f"dataset {shown(spec)}: options are key=value, separated by commas")
        if key in options:
            raise ValueError(f"dataset {shown(spec)}: option {key!r} given twice")
        options[key] = value.strip()
    allowed = {"align_ota": ("label",), "analoggenie": ("min_class",)}[name]
    for key in options:
        if key not in allowed:
            raise ValueError(f"dataset {shown(spec)}: unknown option {key!r}; {name} takes {', '.join(allowed)}")
    label = options.get("label", "ended")
    if label not in ("ended", "topology"):
        raise ValueError(f"dataset {shown(spec)}: label={label!r}; give label=ended or label=topology")
    min_class = MIN_CLASS
    if "min_class" in options:
        text = options["min_class"]
        if not text.isdigit() or not 1 <= int(text) <= 100_000:
            raise ValueError(f"dataset {shown(spec)}: min_class={text!r}; give a whole number from 1 to 100000")
        min_class = int(text)
    return BenchmarkSpec(name, label, min_class)


# -- finding or downloading the files ----------------------------------------------------------
def _marker(name: str) -> str:
    return "fully_differential_OTA" if name == "align_ota" else "data_categorization.md"


def benchmark_folder(name: str, data_root: Path) -> Optional[Path]:
    """The folder holding benchmark ``name``'s files under ``data_root`` (``full_OTA`` for
    ``align_ota``, ``Dataset`` for ``analoggenie``), or ``None`` when it is not there."""
    inner = "full_OTA" if name == "align_ota" else "Dataset"
    for base in (data_root / name, data_root / "spice" / name):
        if (base / inner / _marker(name)).exists():
            return base / inner
    return None


def _download(name: str, data_root: Path) -> Path:
    """Download benchmark ``name`` from GitHub (its pinned commit) into ``data_root/name``: only
    the benchmark's folder is extracted, regular files only, every path checked to stay inside."""
    repo, commit, folder = SOURCES[name]
    url = f"https://codeload.github.com/{repo}/tar.gz/{commit}"
    inner = "full_OTA" if name == "align_ota" else "Dataset"
    target = data_root / name
    data_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=data_root, prefix=f".{name}.", suffix=".tmp"))
    try:
        prefix = f"{repo.split('/')[1]}-{commit}/{folder}/"
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (a fixed https URL)
            with gzip.GzipFile(fileobj=response) as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
                for member in tqdm(tar, desc=f"downloading {name}", unit="file", leave=False):
                    if not member.isfile() or not member.name.startswith(prefix):
                        continue
                    rel = Path(member.name[len(prefix) :])
                    if rel.is_absolute() or ".." in rel.parts:
                        continue
                    dest = tmp / inner / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    if source is not None:
                        with open(dest, "wb") as f:
                            shutil.copyfileobj(source, f)
                while gz.read(1 << 20):  # to the gzip trailer: a stream cut short raises EOFError
                    pass
        if not (tmp / inner / _marker(name)).exists():
            raise ValueError(f"dataset {name}: the download from {url} holds no {folder}/{_marker(name)}")
        os.replace(tmp, target)
    except (OSError, EOFError, tarfile.TarError, http.client.HTTPException, zlib.error) as e:
        raise ValueError(
            f"dataset {name}: not under {data_root} (nor {data_root / 'spice'}), and the download from {url} "
            f"failed ({e}); put the files there or give --data-root"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target / inner


# -- labels -----------------------------------------------------------------------------------
_RANGE = re.compile(r"^\s*-\s*([\d\s,–-]+):\s*(.+?)\s*$")


def analoggenie_categories(markdown: str) -> Dict[int, str]:
    """Design id → category, from AnalogGenie's ``data_categorization.md`` (lines
    ``- 445–457: basic concepts in RF design``, several ranges or ids per line)."""
    out: Dict[int, str] = {}
    for number, line in enumerate(markdown.splitlines(), 1):
        m = _RANGE.match(line)
        if m is None:
            continue
        category = m.group(2)
        for part in m.group(1).split(","):
            bounds = [b.strip() for b in re.split(r"[–-]", part.strip()) if b.strip()]
            if not bounds:
                continue
            if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
                raise ValueError(f"data_categorization.md:{number}: {part.strip()!r} is not an id or a range of ids")
            lo, hi = int(bounds[0]), int(bounds[-1])
            if not 0 <= hi - lo <= MAX_RANGE:
                raise ValueError(
                    f"data_categorization.md:{number}: the range {lo}-{hi} is empty or longer than {MAX_RANGE:,} ids"
                )
            for i in range(lo, hi + 1):
                out[i] = category
    return out


def _ota_label(path: Path, label: str) -> str:
    m = _OTA_NAME.match(path.name)
    if m is None:
        raise ValueError(f"align_ota: {path}: a file name hipool cannot read the topology from")
    if label == "ended":
        return "fully differential" if m.group(1).lower() == "fully_differential" else "single-ended"
    key = (m.group(2) or "").lower()
    if key not in OTA_FAMILIES:
        raise ValueError(f"align_ota: {path}: signal path {key!r} is in no family of OTA_FAMILIES")
    return OTA_FAMILIES[key]


def _items(spec: BenchmarkSpec, folder: Path) -> Tuple[List[Tuple[Path, str]], List[str]]:
    """The (netlist, class name) of every design, and notes on what was left out."""
    notes: List[str] = []
    if spec.name == "align_ota":
        items = []
        for sub in ("fully_differential_OTA", "single_ended_OTA"):
            for p in sorted((folder / sub).glob("*.sp")):
                items.append((p, _ota_label(p, spec.label)))
        return items, notes
    categories = analoggenie_categories((folder / "data_categorization.md").read_text(encoding="utf-8"))
    to_class = {c: k for k, cats in ANALOGGENIE_CLASSES.items() for c in cats}
    items, dropped = [], {}
    ids = sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    for i in ids:
        category = categories.get(i)
        cls = to_class.get(category or "")
        if cls is None:
            key = category or "(no category)"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        fulls = [folder / str(i) / f"{i}_full{e}" for e in (".cir", ".txt")]  # 813's is a .txt
        path = next((f for f in fulls if f.is_file()), folder / str(i) / f"{i}.cir")
        items.append((path, cls))
    if dropped:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]))
        notes.append(f"dropped {sum(dropped.values())} designs of categories with no functional class: {listed}")
    counts: Dict[str, int] = {}
    for _, cls in items:
        counts[cls] = counts.get(cls, 0) + 1
    small = sorted(c for c, n in counts.items() if n < spec.min_class)
    if small:
        notes.append(
            f"dropped classes with fewer than {spec.min_class} designs: "
            + ", ".join(f"{c} ({counts[c]})" for c in small)
        )
        items = [it for it in items if it[1] not in small]
    return items, notes


def load_benchmark(spec: str, data_root: Optional[PathLike] = None, *, progress: bool = False) -> GraphDataset:
    """Benchmark ``spec`` (see the module docstring) as a dataset of device-net graphs."""
    from ..tu import default_data_root
    from .analog import NUM_ANALOG_FEATURES, analog_depth, to_data
    from .dataset import read_analog
    from .gates import NetlistError

    parsed = parse_spec(spec)
    root = Path(data_root) if data_root is not None else default_data_root()
    folder = benchmark_folder(parsed.name, root) or _download(parsed.name, root)
    items, notes = _items(parsed, folder)
    class_names = sorted({cls for _, cls in items})
    netlists, ys, failed = [], [], []
    for path, cls in tqdm(items, desc=f"reading {parsed.name}", disable=not progress, leave=False, unit="netlist"):
        try:
            netlists.append(read_analog(path))  # whatever its ending (813's _full is a .txt)
        except NetlistError as e:
            failed.append(str(e))
            continue
        ys.append(class_names.index(cls))
    if failed:
        notes.append(f"{len(failed)} netlists could not be read and are left out; the first: {failed[0]}")
    if not netlists:
        raise ValueError(f"dataset {spec}: no netlist under {folder} could be read")
    depth = max(analog_depth(nl) for nl in netlists)
    graphs = []
    for nl, y in zip(netlists, ys):
        data = to_data(nl, depth)
        data.graph_id = Path(nl.source).name
        data.y = torch.tensor([y], dtype=torch.long)
        graphs.append(data)
    level_names = tuple(f"instances at depth {depth - c}" for c in range(depth)) if depth else None
    return GraphDataset(
        name=parsed.name if parsed.name != "align_ota" else f"align_ota ({parsed.label})",
        graphs=graphs,
        num_features=NUM_ANALOG_FEATURES,
        num_classes=len(class_names),
        class_names=class_names,
        source=str(folder),
        notes=notes,
        level_names=level_names,
    )


__all__ = [
    "ANALOGGENIE_CLASSES",
    "BENCHMARKS",
    "MIN_CLASS",
    "OTA_FAMILIES",
    "SOURCES",
    "analoggenie_categories",
    "benchmark_folder",
    "is_benchmark",
    "load_benchmark",
    "parse_spec",
]
