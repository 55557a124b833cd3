"""Flattening an analog :class:`~hipool.data.netlists.analog_records.Design`: every
subcircuit instance expanded, every value evaluated where its device sits.

The rules (parameter scopes, the designer's hierarchy, which part of a file is the design)
are those of :mod:`hipool.data.netlists.analog`'s docstring; its
:func:`~hipool.data.netlists.analog.flatten` is the entry point, and calls
:func:`flatten_design` here with its limits (:data:`~hipool.data.netlists.analog.MAX_DEVICES`,
:data:`~hipool.data.netlists.analog.MAX_DEPTH`), read when it is called.  The sizes are
checked before anything is built: a design whose flattening would explode is refused before
it costs time or memory.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .analog_records import LINKS, PINS, VALUE_KEYS, AnalogNetlist, Design, Device, Element, Subckt, device_kind
from .gates import NetlistError
from .values import evaluate


def _key(name: str, design: Design) -> str:
    return name if design.dialect == "spectre" else name.lower()


def _scope(
    base: Mapping[str, Optional[float]], assignments: Sequence[Tuple[str, str]], design: Design
) -> Dict[str, Optional[float]]:
    scope = dict(base)
    for name, text in assignments:
        scope[_key(name, design)] = evaluate(text, scope, design.dialect)
    return scope


def _main_value(
    kind: str, el: Element, scope: Mapping[str, Optional[float]], design: Design
) -> Tuple[Optional[float], bool]:
    """``(value, unknown)`` of a device's main value (see :mod:`~hipool.data.netlists.analog`)."""

    def ev(text: Optional[str]) -> Tuple[Optional[float], bool]:
        if text is None:
            return None, False
        v = evaluate(text, scope, design.dialect)
        return v, v is None

    if kind in ("NMOS", "PMOS", "MOS"):
        w, l_ = el.params.get("w"), el.params.get("l")
        if w is None and l_ is None:
            return None, False
        wv, wu = ev(w)
        lv, lu = ev(l_)
        if wu or lu or wv is None or lv is None or lv == 0:
            return None, bool(wu or lu)
        return wv / lv, False
    text = el.value
    if text is None:
        for key in VALUE_KEYS.get(kind, ()):
            if key in el.params:
                text = el.params[key]
                break
    return ev(text)


def _roots(design: Design) -> List[str]:
    used = {
        _key(el.model, design)
        for sub in design.subckts.values()
        for el in sub.elements
        if el.letter == "X" and el.model
    }
    return [name for name in design.subckts if name not in used]


def _sizes(design: Design, max_depth: int) -> Dict[str, int]:
    """Flattened size (devices plus instances) of every subcircuit (recursion, nesting deeper
    than ``max_depth`` and undefined subcircuits are errors)."""
    sizes: Dict[str, int] = {}
    depths: Dict[str, int] = {}
    instances: Dict[str, int] = {}
    state: Dict[str, int] = {}

    def too_deep(chain: List[str]) -> NetlistError:
        return NetlistError(f"{design.source}: subcircuits nest deeper than {max_depth}: {' -> '.join(chain[:5])} ...")

    def visit(name: str, chain: List[str]) -> int:
        if state.get(name) == 2:
            if len(chain) + depths[name] > max_depth:
                raise too_deep(chain + [name])
            return sizes[name]
        if state.get(name) == 1:
            loop = chain[chain.index(name) :] + [name]
            sub = design.subckts[name]
            raise NetlistError(f"{sub.where}: subcircuit {name!r} instantiates itself: {' -> '.join(loop)}")
        if len(chain) > max_depth:
            raise too_deep(chain)
        state[name] = 1
        total = deepest = count = 0
        for el in design.subckts[name].elements:
            total += _element_size(el, chain + [name], visit)
            if el.letter == "X":
                key = _key(el.model or "", design)
                deepest, count = max(deepest, depths[key]), count + 1 + instances[key]
        state[name] = 2
        sizes[name], depths[name], instances[name] = total, deepest + 1, count
        return total

    def _element_size(el: Element, chain: List[str], visit_fn) -> int:  # noqa: ANN001
        if el.letter != "X":
            return 1
        key = _key(el.model or "", design)
        if key not in design.subckts:
            raise NetlistError(f"{el.where}: instance {el.name!r} of subcircuit {el.model!r}, which is not defined")
        return visit_fn(key, chain)

    for name in design.subckts:
        visit(name, [])
    top = 0
    for el in design.elements:
        top += _element_size(el, [], visit)
    sizes[""] = top
    # instances flatten expands (an empty subcircuit's too: they cost time though they add no device)
    sizes["#instances"] = sum(1 + instances[_key(el.model or "", design)] for el in design.elements if el.letter == "X")
    for name in design.subckts:
        sizes["#instances " + name] = instances[name]
    return sizes


def flatten_design(design: Design, *, max_devices: int, max_depth: int) -> AnalogNetlist:
    """The devices of ``design`` with every subcircuit instance expanded, as
    :func:`~hipool.data.netlists.analog.flatten` (which calls this with its limits); a
    :class:`~hipool.data.netlists.gates.NetlistError` naming the file and line for an undefined
    subcircuit, a recursive instantiation (the chain), subcircuits nested deeper than
    ``max_depth``, a pin count that does not match the subcircuit's ports or the device's kind,
    a reference to a device that is not defined, or a design of more than ``max_devices``
    devices (or subcircuit instances to expand)."""
    sizes = _sizes(design, max_depth)
    elements, ports_of_top = design.elements, []
    top_params: List[Tuple[str, str]] = list(design.params)
    if not elements:
        roots = _roots(design)
        if not roots:
            raise NetlistError(f"{design.source}: no devices and no subcircuits: nothing to read")
        if len(roots) > 1:
            raise NetlistError(
                f"{design.source}: no top-level devices and {len(roots)} subcircuits that nothing instantiates "
                f"({', '.join(roots[:6])}{', ...' if len(roots) > 6 else ''}): a library of cells, not one design"
            )
        root = design.subckts[roots[0]]
        elements, ports_of_top = root.elements, list(root.ports)
        top_params += list(root.params.items()) + list(root.local_params)
        total, count = sizes[roots[0]], sizes["#instances " + roots[0]]
    else:
        total, count = sizes[""], sizes["#instances"]
    if total > max_devices:
        raise NetlistError(f"{design.source}: the design flattens to {total:,} devices, more than {max_devices:,}")
    if count > max_devices:
        raise NetlistError(
            f"{design.source}: the design expands {count:,} subcircuit instances, more than {max_devices:,}"
        )
    global_nets = {_key(g, design) for g in design.globals} | {"0"}
    devices: List[Device] = []
    nets: Dict[str, Tuple[str, ...]] = {}

    def net_of(name: str, binding: Mapping[str, str], path: Tuple[str, ...], level: Tuple[str, ...]) -> str:
        key = _key(name, design)
        if key in binding:
            return binding[key]
        if key in global_nets or (design.dialect != "spectre" and key.endswith("!")) or key == "0":
            nets.setdefault(key, ())
            return key
        flat = "/".join(path + (key,))
        nets.setdefault(flat, level)
        return flat

    def expand(
        body: Sequence[Element],
        binding: Mapping[str, str],
        scope: Mapping[str, Optional[float]],
        path: Tuple[str, ...],
        inline: Optional[Subckt] = None,
        level: Tuple[str, ...] = (),
    ) -> None:
        # an inline subcircuit's devices stay at the caller's level; its namesake takes the instance's name
        namesake = _key(inline.name, design) if inline is not None and inline.inline else None

        def flat(name: str) -> str:
            key = _key(name, design)
            return "/".join(path if key == namesake else path + (key,))

        for el in body:
            flat_nets = [net_of(n, binding, path, level) for n in el.nets]
            if el.letter == "X":
                sub = design.subckts[_key(el.model or "", design)]
                if len(el.nets) != len(sub.ports):
                    shown_ports = " ".join(sub.ports[:8]) + (" ..." if len(sub.ports) > 8 else "")
                    raise NetlistError(
                        f"{el.where}: instance {el.name!r} connects {len(el.nets)} nets, but subcircuit "
                        f"{sub.name!r} has {len(sub.ports)} ports ({shown_ports})"
                    )
                inner_binding = {_key(p, design): n for p, n in zip(sub.ports, flat_nets)}
                # defaults in the subcircuit's scope, the instance's values in the caller's
                inner = dict(scope)
                given = {_key(k, design): evaluate(v, scope, design.dialect) for k, v in el.params.items()}
                for k, v in sub.params.items():
                    kk = _key(k, design)
                    inner[kk] = given[kk] if kk in given else evaluate(v, inner, design.dialect)
                for kk, v in given.items():
                    inner[kk] = v  # the instance's value wins over the caller's
                inner = _scope(inner, sub.local_params, design)
                key = _key(el.name, design)
                child = path if key == namesake else path + (key,)
                expand(sub.elements, inner_binding, inner, child, inline=sub, level=level if sub.inline else child)
                continue
            try:
                kind = device_kind(el.letter, _key(el.model, design) if el.model else None, design.models)
            except ValueError:
                raise NetlistError(
                    f"{el.where}: element {el.name!r}: hipool does not read devices of kind {el.letter!r}"
                ) from None
            roles, lo, hi = PINS[kind]
            if not lo <= len(el.nets) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise NetlistError(f"{el.where}: element {el.name!r} ({kind}) has {len(el.nets)} nets; it takes {want}")
            if kind in LINKS and len(el.links) < LINKS[kind]:
                raise NetlistError(
                    f"{el.where}: element {el.name!r} ({kind}) names {len(el.links)} devices; it needs {LINKS[kind]}"
                )
            value, unknown = _main_value(kind, el, scope, design)
            extra = ("ctrl_pos", "ctrl_neg") if kind in ("E", "G") else ("passive", "passive")
            full_roles = tuple(roles[k] if k < len(roles) else extra[k % 2] for k in range(len(el.nets)))
            name = flat(el.name)
            devices.append(
                Device(
                    name=name,
                    kind=kind,
                    nets=flat_nets,
                    roles=full_roles,
                    value=value,
                    unknown=unknown,
                    instance=level,
                    links=[flat(t) for t in el.links],
                    where=el.where,
                )
            )

    expand(elements, {}, _scope({}, top_params, design), ())
    ports = {_key(p, design) for p in list(ports_of_top) + list(design.ports)}
    return AnalogNetlist(name=design.name, source=design.source, devices=devices, nets=nets, ports=ports)


__all__ = ["flatten_design"]
