"""``hipool advise --check``: the advice tested by a quick cross-validation, not asserted.

The recommended hierarchical model (or, when the advice is global, the hierarchical candidate
the rules chose) and its global twin (:meth:`~hipool.config.ModelConfig.global_twin`: the same
convs, readouts and head, no pooling) are compared by the fair-protocol harness
(:func:`hipool.compare.compare`) on the **whole dataset**: ``--check-folds`` stratified outer
folds (default :data:`CHECK_FOLDS`), each fold's training part cut into an inner training set
and a 10 % holdout for early stopping, ``--check-repeats`` final runs per fold (default 1), at
most ``--check-epochs`` epochs (default :data:`CHECK_EPOCHS`; the other training settings are
:class:`~hipool.train.settings.TrainSettings`' defaults), no grid.

The check's folder (``--out``, default ``runs/advise-<dataset>``) holds the two model configs
(``hierarchical.yaml``, ``global.yaml``) and the harness's run folder ``compare/``; running the
same command again resumes it (the harness skips the training runs that are done).

**The difference** is taken fold by fold: ``d_k = acc_hier(k) - acc_global(k)`` (test accuracy,
the mean over the fold's final runs), then its mean ``d̄`` and the 95 % Student-t interval
``d̄ ± t(0.975, K - 1) · s / √K`` over the ``K`` folds (``s``: the sample standard deviation).
Folds of one CV share training data, so the interval is optimistic; it is a quick check.

**Verdict**: with hierarchical advice, an interval above 0 *agrees*, one below 0 *disagrees*,
one that contains 0 is *inconclusive*.  With global advice the other way round: an interval
below 0 (global better) agrees, above 0 disagrees; one containing 0 is inconclusive too (the
hierarchical model did not measurably help, which is what global advice expects, but it is no
proof).
"""

from __future__ import annotations

import math
import re
import statistics
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..config import ModelConfig
from ..io import atomic_write_text

#: Outer folds of the check (``--check-folds``).
CHECK_FOLDS = 5
#: Most epochs per training run of the check (``--check-epochs``).
CHECK_EPOCHS = 30
#: Final runs per fold (``--check-repeats``).
CHECK_REPEATS = 1
#: The model names of the check (file stems in its folder, model names in the harness).
HIER, GLOBAL = "hierarchical", "global"

#: Two-sided 95 % critical values of Student's t for 1 .. 30 degrees of freedom.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z = 1.959963984540054


def t_quantile(df: int) -> float:
    """The two-sided 95 % critical value of Student's t with ``df`` degrees of freedom: the table
    up to 30, beyond it the Cornish-Fisher expansion around the normal quantile (within 0.001)."""
    if df < 1:
        raise ValueError(f"t_quantile: degrees of freedom must be >= 1, got {df}")
    if df <= len(T_975):
        return T_975[df - 1]
    z = _Z
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def fold_differences(fold_rows: List[Dict[str, Any]], hier: str = HIER, glob: str = GLOBAL) -> List[Dict[str, Any]]:
    """``{"fold", "hierarchical", "global", "difference"}`` for every fold both models finished,
    from the harness's fold records (``summary["folds"]``)."""
    acc: Dict[str, Dict[int, float]] = {hier: {}, glob: {}}
    for row in fold_rows:
        if row["model"] in acc:
            acc[row["model"]][int(row["fold"])] = float(row["test_acc"])
    both = sorted(set(acc[hier]) & set(acc[glob]))
    return [
        {
            "fold": k,
            "hierarchical": acc[hier][k],
            "global": acc[glob][k],
            "difference": acc[hier][k] - acc[glob][k],
        }
        for k in both
    ]


def interval(differences: List[float]) -> Dict[str, Any]:
    """Mean, sample standard deviation and 95 % t-interval of per-fold differences (``low``,
    ``high`` are ``None`` below 2 folds)."""
    k = len(differences)
    if k == 0:
        return {"folds": 0, "mean": None, "std": None, "df": None, "t": None, "low": None, "high": None}
    mean = statistics.fmean(differences)
    if k < 2:
        return {"folds": 1, "mean": mean, "std": None, "df": None, "t": None, "low": None, "high": None}
    sd = statistics.stdev(differences)
    t = t_quantile(k - 1)
    half = t * sd / math.sqrt(k)
    return {"folds": k, "mean": mean, "std": sd, "df": k - 1, "t": t, "low": mean - half, "high": mean + half}


def verdict(decision: str, ci: Dict[str, Any]) -> Dict[str, str]:
    """``{"verdict": agrees | disagrees | inconclusive, "text": ...}`` for the advice ``decision``."""
    low, high = ci["low"], ci["high"]
    if low is None or high is None:
        return {"verdict": "inconclusive", "text": "Too few folds finished for an interval: the check is inconclusive."}
    span = f"[{low:+.3f}, {high:+.3f}]"
    if low > 0:
        word = "agrees" if decision == "hierarchical" else "disagrees"
        text = f"The hierarchical model is ahead in the whole 95 % interval {span}"
    elif high < 0:
        word = "agrees" if decision == "global" else "disagrees"
        text = f"The global twin is ahead in the whole 95 % interval {span}"
    else:
        word = "inconclusive"
        text = f"The 95 % interval {span} contains 0: no difference was measured either way"
    advice = f"the advice ({decision})"
    if word == "agrees":
        text += f"; the check agrees with {advice}."
    elif word == "disagrees":
        text += (
            f"; the check DISAGREES with {advice}. A quick check can favour the model that learns faster: "
            "confirm with more --check-epochs and folds, and if it holds, trust the measurement over the rules."
        )
    else:
        extra = " (no measurable gain from pooling hierarchically, as global advice expects, but no proof either)"
        text += (
            f"; the check is inconclusive{extra if decision == 'global' else ''}. More folds or epochs may settle it."
        )
    return {"verdict": word, "text": text}


def default_out(dataset_name: str) -> Path:
    """``runs/advise-<dataset>``, the name reduced to letters, digits, ``.``, ``_`` and ``-``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(dataset_name).name or dataset_name).strip("._") or "dataset"
    return Path("runs") / f"advise-{name[:80]}"


def write_models(out: Path, hierarchical: ModelConfig) -> Dict[str, Path]:
    """Write the two model configs into ``out`` (refusing to replace other configs of an earlier check)."""
    files = {HIER: out / f"{HIER}.yaml", GLOBAL: out / f"{GLOBAL}.yaml"}
    configs = {HIER: hierarchical, GLOBAL: hierarchical.global_twin()}
    for name, path in files.items():
        if path.is_file():
            try:
                same = ModelConfig.from_yaml(path).to_dict() == configs[name].to_dict()
            except ValueError:
                same = False
            if not same:
                raise ValueError(
                    f"--out {out}: its {path.name} holds another model than this check's (an earlier check "
                    f"of other advice, or edited); choose another --out or delete the folder"
                )
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    for name, path in files.items():
        if not path.is_file():
            atomic_write_text(path, configs[name].to_yaml())
    return files


def run_check(
    dataset: str,
    decision: str,
    hierarchical: ModelConfig,
    out: Path,
    *,
    folds: int = CHECK_FOLDS,
    epochs: int = CHECK_EPOCHS,
    repeats: int = CHECK_REPEATS,
    seed: int = 0,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    device: str = "cpu",
    threads: Optional[int] = None,
    jobs: int = 1,
    progress: bool = True,
    argv: Optional[List[str]] = None,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Run (or resume) the check; returns what ``--json`` records under ``check``."""
    from ..compare import CompareSettings, compare
    from ..train.settings import TrainSettings

    out = Path(out)
    files = write_models(out, hierarchical)
    settings = CompareSettings(
        dataset=dataset,
        models=[str(files[HIER]), str(files[GLOBAL])],
        out=out / "compare",
        folds=folds,
        repeats=repeats,
        seed=seed,
        train=TrainSettings(epochs=epochs),
        data_root=data_root,
        cache_dir=cache_dir,
        device=device,
        threads=threads,
        jobs=jobs,
        progress=progress,
        argv=argv,
    )
    quiet = log if log is not None else (lambda text: print(text, file=sys.stderr)) if progress else (lambda _: None)
    summary = compare(settings, log=quiet)
    per_fold = fold_differences(summary["folds"])
    ci = interval([f["difference"] for f in per_fold])
    rows = {r["model"]: r for r in summary["rows"]}
    return {
        "folds": folds,
        "epochs": epochs,
        "repeats": repeats,
        "seed": seed,
        "out": str(out),
        "run_folder": str(out / "compare"),
        "accuracy": {
            name: ({"mean": rows[name]["test_acc_mean"], "std": rows[name]["test_acc_std"]} if name in rows else None)
            for name in (HIER, GLOBAL)
        },
        "per_fold": per_fold,
        "difference": ci,
        **verdict(decision, ci),
    }
