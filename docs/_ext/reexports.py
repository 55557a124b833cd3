"""``.. reexports:: hipool.nn``: a table of a package's ``__all__``, built from the code.

Every object is documented once, in the module that defines it; a package page lists what
the package re-exports (name, where it is documented, the first line of its docstring), so
nothing is listed twice by hand and a new export appears by itself.
"""

import ast
import importlib
import inspect
from functools import cache

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes


@cache
def _top_level(modname):
    """(names a module assigns at top level, {name: (module, name) it imports it from})."""
    module = importlib.import_module(modname)
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return frozenset(), {}
    package = modname if hasattr(module, "__path__") else modname.rpartition(".")[0]
    assigned, imported = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assigned.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                imported[alias.asname or alias.name] = (source, alias.name)
    return frozenset(assigned), imported


def _defined_in(modname, name, depth=0):
    """The module that assigns ``name``, following ``from ... import`` from ``modname``."""
    if depth > 10 or not modname.startswith("hipool"):
        return None
    try:
        assigned, imported = _top_level(modname)
    except ImportError:
        return None
    if name in assigned:
        return modname
    if name in imported:
        return _defined_in(*imported[name], depth + 1)
    return None


def _home(package, name, obj):
    """(role, dotted name) of the place where ``obj`` is defined and documented."""
    if inspect.ismodule(obj):
        return "mod", obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if (inspect.isclass(obj) or inspect.isfunction(obj)) and module and qualname:
        return "obj", f"{module}.{qualname}"
    # A constant: the module that assigns it, found through the package's imports.
    return "obj", f"{_defined_in(package, name) or package}.{name}"


def _summary(obj):
    if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj)):
        return ""
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


class ReExports(Directive):
    required_arguments = 1

    def run(self):
        package = self.arguments[0]
        mod = importlib.import_module(package)
        names = [n for n in getattr(mod, "__all__", []) if not n.startswith("__")]
        table = nodes.table(classes=["reexports"])
        group = nodes.tgroup(cols=2)
        table += group
        group += nodes.colspec(colwidth=30)
        group += nodes.colspec(colwidth=70)
        body = nodes.tbody()
        group += body
        for name in names:
            obj = getattr(mod, name)
            role, target = _home(package, name, obj)
            ref = addnodes.pending_xref(
                "", refdomain="py", reftype=role, reftarget=target, refexplicit=True, refwarn=False
            )
            ref += nodes.literal(name, name, classes=["xref", "py", f"py-{role}"])
            row = nodes.row()
            row += nodes.entry("", nodes.paragraph("", "", ref))
            summary = _summary(obj)
            summary_par = nodes.paragraph()
            if summary:
                # The summary is reStructuredText (roles, ``literals``); parse it in place.
                parsed, messages = self.state.inline_text(summary, self.lineno)
                summary_par += parsed
                summary_par += messages
            row += nodes.entry("", summary_par)
            body += row
        if not names:
            return []
        return [table]


def setup(app):
    app.add_directive("reexports", ReExports)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
