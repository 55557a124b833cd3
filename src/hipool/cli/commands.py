"""The subcommands: one ``add_<command>(sub)`` function each, which adds its parser and
sets its handler (``func``); :data:`COMMANDS` lists them in the order ``hipool --help`` shows.

A handler takes the parsed arguments (and, for ``train`` and ``compare``, which record it in
their run folder, the command line) and returns the exit status.  Imports of the heavier
modules happen in the handlers, so ``hipool --help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

from .args import (
    DATASET_HELP,
    add_data_flags,
    add_run_flags,
    add_training_flags,
    folder_arg,
    fraction_arg,
    model_names_help,
    positive_arg,
    positive_float_arg,
    seed_arg,
    train_overrides,
    workers_arg,
)


def _demo(args: argparse.Namespace) -> int:
    from ..config import ModelConfig
    from ..demo import DemoSettings, run_demo

    model = ModelConfig.from_yaml(args.config) if args.config is not None else None
    settings = DemoSettings(
        dataset=args.dataset,
        num_graphs=args.graphs,
        epochs=args.epochs,
        seed=args.seed,
        model=model,
        data_root=args.data_root,
    )
    run_demo(Path(args.out), settings, progress=not args.no_progress)
    return 0


def _data_summary(args: argparse.Namespace) -> int:
    import json

    from ..data.registry import format_summary, load_dataset, summarize

    try:
        dataset = load_dataset(args.name, args.data_root, cache_dir=args.cache_dir, progress=not args.json)
    except (ValueError, ImportError) as e:
        print(f"hipool data summary: {e}", file=sys.stderr)
        return 2
    summary = summarize(dataset)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _train(args: argparse.Namespace, argv: List[str]) -> int:
    from ..train.command import TrainRequest, run_train

    request = TrainRequest(
        dataset=args.dataset,
        out=Path(args.out),
        config=args.config,
        model=args.model,
        train=train_overrides(args),
        seed=args.seed,
        val=args.val,
        test=args.test,
        device=args.device,
        threads=args.threads,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
        argv=argv,
    )
    run_train(request)
    return 0


def _compare(args: argparse.Namespace, argv: List[str]) -> int:
    from ..compare import CompareSettings, compare
    from ..train.settings import TrainSettings

    train = TrainSettings.from_dict(train_overrides(args), source="training flags")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    settings = CompareSettings(
        dataset=args.dataset,
        models=models,
        out=Path(args.out),
        folds=args.folds,
        repeats=args.repeats,
        holdout=args.holdout,
        seed=args.seed,
        grid=args.grid,
        splits=args.splits,
        train=train,
        jobs=args.jobs,
        threads=args.threads,
        device=args.device,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
        argv=argv,
    )
    compare(settings)
    return 0


def _explain(args: argparse.Namespace) -> int:
    from ..explain.command import run_explain

    run_explain(
        args.run,
        graph=args.graph,
        out=args.out,
        metrics=args.metrics,
        suspects=args.suspects,
        model=args.model,
        fold=args.fold,
        dataset=args.dataset,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        split=args.split,
        dropped=args.dropped,
        layout=args.layout,
        progress=not args.no_progress,
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from ..report import write_report

    path = write_report(
        args.run,
        out=args.out,
        graph=args.graph,
        model=args.model,
        fold=args.fold,
        dataset=args.dataset,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        metrics=not args.no_metrics,
        progress=not args.no_progress,
    )
    print(f"report: {path}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ..predict import run_predict

    return run_predict(
        args.run,
        args.files,
        out=args.out,
        as_json=args.json,
        model=args.model,
        fold=args.fold,
        dataset=args.dataset,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        device=args.device,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )


def _poolers(args: argparse.Namespace) -> int:
    import json

    from ..nn.registry import REGISTRY, markdown_table, text_table

    chosen = {n: s for n, s in REGISTRY.items() if args.family in (None, s.family)}
    if args.json:
        print(json.dumps([s.row() for s in chosen.values()], indent=2))
    else:
        print(markdown_table(chosen) if args.markdown else text_table(chosen), end="")
    return 0


def _advise(args: argparse.Namespace, argv: List[str]) -> int:
    from ..advise import AdviseRequest, run_advise

    run_advise(
        AdviseRequest(
            dataset=args.dataset,
            data_root=args.data_root,
            cache_dir=args.cache_dir,
            sample=args.sample,
            seed=args.seed,
            json=args.json,
            write_config=args.write_config,
            check=args.check,
            check_folds=args.check_folds,
            check_epochs=args.check_epochs,
            check_repeats=args.check_repeats,
            out=None if args.out is None else Path(args.out),
            device=args.device,
            threads=args.threads,
            jobs=args.jobs,
            progress=not args.no_progress,
            argv=argv,
        )
    )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from ..data.netlists.simulate_command import SimulateRequest, run_simulate

    request = SimulateRequest(
        file=args.file,
        out=Path(args.out),
        vectors=args.vectors,
        seed=args.seed,
        exhaustive=args.exhaustive,
        inputs=args.inputs,
        progress=not args.no_progress,
    )
    print(run_simulate(request))
    return 0


def add_demo(sub) -> None:
    from ..demo import DEMO_DATASETS, DEMO_GRAPH_RANGE, DEMO_GRAPHS, DemoSettings

    defaults = DemoSettings()
    demo = sub.add_parser(
        "demo",
        help="hierarchical vs global pooling on an embedded benchmark (circuits)",
        description="Train the recipe with a learned pooler (EdgePool), with the data's own "
        "hierarchy (pool: given) and their global twin (the same convs, norms, "
        "readouts and training) on an embedded, generated benchmark (offline): "
        "synthetic circuits that pass or fail, with defects at the component, block "
        "and subsystem levels (default), or hierarchical community graphs; or mutated cones of "
        "real logic circuits labelled by simulation (gates, from --data-root); print "
        "accuracy overall and per defect level (gates: per mutation kind) and write a run folder.",
    )
    demo.add_argument(
        "--dataset",
        choices=DEMO_DATASETS,
        default=defaults.dataset,
        help=f"the benchmark (default: {defaults.dataset})",
    )
    demo.add_argument("--out", type=folder_arg, default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument(
        "--graphs",
        type=positive_arg,
        default=None,
        help=f"number of graphs, {DEMO_GRAPH_RANGE[0]} to {DEMO_GRAPH_RANGE[1]:,} (default: "
        + ", ".join(f"{k} {v}" for k, v in DEMO_GRAPHS.items())
        + ")",
    )
    demo.add_argument(
        "--epochs",
        type=positive_arg,
        default=defaults.epochs,
        help=f"maximum epochs per model (default: {defaults.epochs})",
    )
    demo.add_argument(
        "--seed",
        type=seed_arg,
        default=defaults.seed,
        help=f"seed for data, split and weights (default: {defaults.seed})",
    )
    demo.add_argument(
        "--config",
        type=Path,
        default=None,
        help="model config YAML for the hierarchical model (default: the built-in one for "
        "the dataset); the given model and the twin are derived from it",
    )
    demo.add_argument(
        "--data-root",
        default=None,
        help="--dataset gates: the folder holding circuits/iscas85, iscas89, epfl "
        "(default: $HIPOOL_DATA, else hipool's download folder)",
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)


def add_train(sub) -> None:
    from ..train.settings import TrainSettings

    train = sub.add_parser(
        "train",
        help="train one model on one dataset (resumable; runs under torchrun for several processes)",
        description="Train one model with early stopping on a validation split and test it. Re-running the "
        "same command resumes. Under `torchrun --nproc_per_node=N -m hipool train ...` the N "
        "processes train together (DistributedDataParallel; gloo on CPU, NCCL on CUDA).",
    )
    train.add_argument(
        "config",
        nargs="?",
        type=Path,
        default=None,
        help="run config YAML: a 'model' section (a model config) and a 'train' section",
    )
    train.add_argument("--dataset", required=True, help=DATASET_HELP)
    train.add_argument(
        "--out",
        type=folder_arg,
        required=True,
        help="run folder: new, empty, or this command's earlier run (resumed); one command at a time",
    )
    train.add_argument(
        "--model", default=None, help=f"a named model instead of a config file ({model_names_help()}; default topk)"
    )
    train.add_argument("--seed", type=seed_arg, default=0, help="seed for the split, weights and batches (default 0)")
    train.add_argument("--val", type=fraction_arg, default=0.1, help="validation fraction (default 0.1)")
    train.add_argument("--test", type=fraction_arg, default=0.1, help="test fraction, 0 for none (default 0.1)")
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    train.add_argument(
        "--threads", type=workers_arg, default=None, help="torch threads, at most 4 x the CPUs (default: torch's)"
    )
    add_data_flags(train)
    add_training_flags(train, TrainSettings())
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train, with_argv=True)


def add_compare(sub) -> None:
    from ..train.settings import TrainSettings

    cmp = sub.add_parser(
        "compare",
        help="fair k-fold comparison of models on one dataset (resumable, parallel)",
        description="Outer stratified k-fold CV; inside each fold, model selection over the grid on a "
        "holdout of the training part, then R final runs of the selected config tested on the "
        "fold. Re-running the same command skips finished runs.",
    )
    cmp.add_argument("--dataset", required=True, help=DATASET_HELP)
    cmp.add_argument(
        "--models",
        required=True,
        help=f"comma-separated model names ({model_names_help()}) or model config YAML paths",
    )
    cmp.add_argument("--out", type=folder_arg, required=True, help="run folder")
    cmp.add_argument("--folds", type=positive_arg, default=10, help="outer folds (default 10)")
    cmp.add_argument(
        "--splits",
        type=Path,
        default=None,
        help="reuse the folds of this splits JSON (e.g. another run's folds.json; replaces --folds)",
    )
    cmp.add_argument("--grid", type=Path, default=None, help="hyperparameter grid YAML (default: none)")
    cmp.add_argument("--repeats", type=positive_arg, default=3, help="final runs per fold (default 3)")
    cmp.add_argument(
        "--holdout",
        type=positive_float_arg,
        default=0.1,
        help="holdout fraction of each training fold for model selection (default 0.1)",
    )
    cmp.add_argument("--seed", type=seed_arg, default=0, help="seed for folds, weights and batches (default 0)")
    cmp.add_argument("--jobs", type=workers_arg, default=1, help="worker processes, at most 4 x the CPUs (default 1)")
    cmp.add_argument(
        "--threads",
        type=workers_arg,
        default=None,
        help="torch threads per process, at most 4 x the CPUs (default: cores / jobs)",
    )
    cmp.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    add_data_flags(cmp)
    add_training_flags(cmp, TrainSettings())
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmp.set_defaults(func=_compare, with_argv=True)


def add_explain(sub) -> None:
    ex = sub.add_parser(
        "explain",
        help="pictures, export and metrics of the hierarchy a trained model builds",
        description="For a run folder of `hipool train`, `demo` or `compare`: with --graph I, pictures of "
        "graph I's hierarchy (original graph, every level coloured by pooled node, the "
        "coarsened graphs) and its export (JSON, GraphML); with --metrics, recovery of the "
        "known hierarchy (NMI, ARI), balance, connectedness and coverage per level and which "
        "level decided, over the run's test graphs.",
    )
    ex.add_argument("run", type=Path, help="run folder")
    ex.add_argument(
        "--graph",
        type=int,
        default=None,
        help="index of the graph in the run's dataset (default without --metrics: the first test graph not of class 0)",
    )
    ex.add_argument("--metrics", action="store_true", help="metrics over the run's test graphs (--split)")
    ex.add_argument(
        "--suspects",
        action="store_true",
        help="where is the defect (a model trained with 'localize'): the most suspicious "
        "components, blocks and subsystems of one failing design, and the top-1/top-5 "
        "hit rates over the run's failing test designs",
    )
    ex.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder, new or holding only what explain writes (default: RUN/explain, graphs in "
        "RUN/explain/graph<I>)",
    )
    add_run_flags(ex)
    ex.add_argument(
        "--split",
        choices=("test", "all"),
        default="test",
        help="graphs --metrics measures (default: the run's test graphs)",
    )
    ex.add_argument(
        "--dropped",
        choices=("ignore", "nearest"),
        default="ignore",
        help="NMI/ARI: leave out nodes a selection pooler dropped, or give each its nearest "
        "kept node's cluster (default ignore)",
    )
    ex.add_argument(
        "--layout",
        choices=("auto", "structure", "spring", "kamada_kawai"),
        default="auto",
        help="layout of the pictures (default auto: the known structure when the graph has "
        "one, else Kamada-Kawai up to 300 nodes, else spring)",
    )
    add_data_flags(ex)
    ex.add_argument("--no-progress", action="store_true", help="no progress bars")
    ex.set_defaults(func=_explain)


def add_report(sub) -> None:
    rep = sub.add_parser(
        "report",
        help="an HTML report of a run: config, learning curves, results, hierarchy pictures, metrics",
        description="Write RUN/report.html (pictures in RUN/report/): the config, learning curves, the "
        "comparison table of a compare or demo run, pictures of one graph's hierarchy and "
        "the hierarchy metrics over the test graphs.",
    )
    rep.add_argument("run", type=Path, help="run folder")
    rep.add_argument(
        "--out", type=Path, default=None, help="the HTML file, new or a report hipool wrote (default RUN/report.html)"
    )
    rep.add_argument("--graph", type=int, default=None, help="graph to picture (default as hipool explain)")
    add_run_flags(rep)
    rep.add_argument("--no-metrics", action="store_true", help="leave out the metrics over the test graphs")
    add_data_flags(rep)
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    rep.set_defaults(func=_report)


def add_predict(sub) -> None:
    pr = sub.add_parser(
        "predict",
        help="classify new netlists or graphs with a trained model: a CSV of classes and probabilities",
        description="Run the trained model of RUN on FILES and write one row per design (or graph): "
        "the predicted class and the probability of every class (OUT.csv, also printed). A file "
        "that cannot be read, or whose features are not what the model was trained on, gets its "
        "error on its row and the others are still predicted. Exit status: 0 when every row was "
        "predicted, 1 when any row has an error, 2 when the command fails as a whole (no CSV written).",
    )
    pr.add_argument(
        "run",
        type=Path,
        metavar="RUN",
        help="run folder of `hipool train`, `demo` or `compare`, or a checkpoint (.pt) inside one",
    )
    pr.add_argument(
        "files",
        nargs="+",
        metavar="FILES",
        help="netlist files (.bench, .blif, .aag, .aig, and the analog endings .sp, .cir, .scs, ...), "
        "folders of netlist files (every netlist in it; no labels.csv needed), or dataset specs as "
        "--dataset takes them (a TU name, circuits, a .jsonl file, a folder of graph files with "
        "labels.csv, ...): every graph of it, named SPEC#INDEX",
    )
    pr.add_argument(
        "--model", default=None, help="which model of a demo or compare run (default: the first pooling model)"
    )
    pr.add_argument("--fold", type=int, default=None, help="which fold of a compare run (default 0)")
    pr.add_argument(
        "--out", type=folder_arg, default="predictions.csv", help="the CSV to write (default: predictions.csv)"
    )
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pr.add_argument(
        "--dataset",
        default=None,
        help="the dataset the run was trained on, when the one its run.json names cannot be loaded "
        "(predict reads its class names and the depth of its known hierarchy)",
    )
    pr.add_argument("--batch-size", type=positive_arg, default=32, help="graphs per batch (default 32)")
    pr.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    add_data_flags(pr)
    pr.add_argument("--no-progress", action="store_true", help="no progress bars")
    pr.set_defaults(func=_predict)


def add_data(sub) -> None:
    data = sub.add_parser("data", help="datasets: summaries", description="Look at datasets.")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    summary = data_sub.add_parser(
        "summary",
        help="graphs, classes, nodes, edges and features of a dataset",
        description="Summarize a dataset: a TU name (MUTAG, PROTEINS, ...), 'communities', 'circuits', "
        "'gates', a molecule "
        "CSV, a JSON Lines file, a netlist (.bench, .blif, .aag, .aig) or a folder of graph files or netlists.",
    )
    summary.add_argument("name", help="TU name, 'communities', or a path (.csv, .jsonl, a netlist, folder)")
    add_data_flags(summary)
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.set_defaults(func=_data_summary)
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])


def add_poolers(sub) -> None:
    from ..nn.registry import FAMILIES

    p = sub.add_parser(
        "poolers",
        help="the poolers hipool has: family, schedule entry, learned, layout, losses (--json: options, paper)",
        description="Print the pooler registry: every name a model config's 'pool' takes, its "
        "family, what its schedule entry is, its auxiliary losses and a one-line "
        "summary (--json: everything, options and papers included).",
    )
    p.add_argument("--family", choices=FAMILIES, default=None, help="only this family")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON (one object per pooler)")
    form.add_argument("--markdown", action="store_true", help="print the README's Markdown table")
    p.set_defaults(func=_poolers)


def add_advise(sub) -> None:
    from ..advise.check import CHECK_EPOCHS, CHECK_FOLDS, CHECK_REPEATS
    from ..advise.summary import DEFAULT_SAMPLE

    adv = sub.add_parser(
        "advise",
        help="hierarchical or global pooling for a dataset? a recommendation from measurements (--check tests it)",
        description="Measure a dataset (graph sizes, density, degrees, a diameter estimate, Louvain modularity "
        "against a degree-preserving shuffle, the modularity of the communities' own graph, the edges one "
        "coarsening keeps, a known hierarchy) on a seeded, class-stratified sample and recommend hierarchical "
        "or global pooling, the pooler, the levels and the schedule, each with its reason. --check tests the "
        "advice: a quick stratified CV of the hierarchical model against its global twin, with a 95 % "
        "interval of the difference over folds (see docs/advise.md).",
    )
    adv.add_argument("dataset", metavar="DATASET", help=DATASET_HELP)
    adv.add_argument(
        "--sample",
        type=positive_arg,
        default=DEFAULT_SAMPLE,
        metavar="N",
        help=f"most graphs measured, stratified by class (default {DEFAULT_SAMPLE}; a smaller dataset whole)",
    )
    adv.add_argument("--seed", type=seed_arg, default=0, help="seed for the sample, Louvain and the check (default 0)")
    adv.add_argument("--json", type=Path, default=None, metavar="FILE", help="write everything as JSON to FILE")
    adv.add_argument(
        "--write-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the recommended model config (YAML) to FILE, for hipool train / compare",
    )
    check = adv.add_argument_group("check (--check)")
    check.add_argument(
        "--check",
        action="store_true",
        help="test the advice: stratified CV of the hierarchical model against its global twin (hipool compare)",
    )
    check.add_argument(
        "--check-folds",
        type=positive_arg,
        default=CHECK_FOLDS,
        metavar="K",
        help=f"outer folds, >= 2 (default {CHECK_FOLDS})",
    )
    check.add_argument(
        "--check-epochs",
        type=positive_arg,
        default=CHECK_EPOCHS,
        metavar="E",
        help=f"most epochs per training run (default {CHECK_EPOCHS})",
    )
    check.add_argument(
        "--check-repeats",
        type=positive_arg,
        default=CHECK_REPEATS,
        metavar="R",
        help=f"final runs per fold (default {CHECK_REPEATS})",
    )
    check.add_argument(
        "--out",
        type=folder_arg,
        default=None,
        metavar="DIR",
        help="the check's folder (its two model configs and the compare run; re-running resumes) "
        "(default runs/advise-<dataset>)",
    )
    check.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N for the check (default cpu)")
    check.add_argument(
        "--threads",
        type=workers_arg,
        default=None,
        metavar="N",
        help="torch threads of the check, at most 4 x the CPUs (default: cores; 1 is fastest on a busy machine)",
    )
    check.add_argument(
        "--jobs",
        type=workers_arg,
        default=1,
        metavar="N",
        help="training runs of the check in N worker processes, as hipool compare --jobs (default 1)",
    )
    add_data_flags(adv)
    adv.add_argument("--no-progress", action="store_true", help="no progress bars")
    adv.set_defaults(func=_advise, with_argv=True)


def add_simulate(sub) -> None:
    from ..data.netlists.simulate_command import MAX_EXHAUSTIVE_ROWS_INPUTS, MAX_ROWS

    sim = sub.add_parser(
        "simulate",
        help="simulate a gate-level netlist (.bench, .blif, .aag, .aig): a CSV of its inputs and outputs",
        description="Simulate a gate-level netlist, 64 vectors per machine word, and write one CSV row per "
        "input vector: a column per input, then per output, values 0/1. Flip-flops are cut (full scan): a "
        "flip-flop's output q is a pseudo-input, its data input the pseudo-output q.D. Combinational loops, "
        "undriven nets and unknown gate kinds are errors naming the file and line. See docs/simulation.md.",
    )
    sim.add_argument("file", type=Path, metavar="FILE", help="the netlist (.bench, .blif, .aag or .aig)")
    which = sim.add_mutually_exclusive_group()
    which.add_argument(
        "--vectors",
        type=positive_arg,
        default=None,
        metavar="N",
        help=f"N random vectors, at most {MAX_ROWS:,} (default 1024)",
    )
    which.add_argument(
        "--exhaustive",
        action="store_true",
        help=f"every input vector (at most {MAX_EXHAUSTIVE_ROWS_INPUTS} inputs, pseudo ones included)",
    )
    which.add_argument(
        "--inputs",
        type=Path,
        default=None,
        metavar="VECTORS.csv",
        help="the vectors of a CSV file: rows of 0/1, one value per input in the order of the output "
        "CSV's input columns, or a header naming every input (other columns are ignored)",
    )
    sim.add_argument("--seed", type=seed_arg, default=0, help="seed of the random vectors (default 0)")
    sim.add_argument("--out", type=folder_arg, required=True, metavar="OUT.csv", help="the CSV to write")
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    sim.set_defaults(func=_simulate)


#: The subcommands, in the order ``hipool --help`` lists them.
COMMANDS = (
    add_demo,
    add_train,
    add_compare,
    add_explain,
    add_report,
    add_predict,
    add_simulate,
    add_advise,
    add_data,
    add_poolers,
)
