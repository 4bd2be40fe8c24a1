"""Route conversion (oral, IV, epidural, intrathecal morphine; IT morphine ↔ IT hydromorphone).

A conversion is always an ESTIMATE and always a range, never one authoritative number. The ratios
are data (``thecal/data/conversions.toml``, each with its original source); this
module is pure and takes the already-parsed data.

How the range is built: every sourced ratio is an edge between two (route, drug) points,
oriented from the less to the more potent one ("from : to = ratio : 1"). Every path from the
start to the goal whose steps all point the same way is used (direct ratios and chains such as
oral → IV → intrathecal), each giving a range; the estimate spans all of them. So when sources
disagree the range widens instead of one source being picked. Paths that go against the
orientation part of the way (e.g. IV → oral → intrathecal) are not used: they would combine one
source's low end with another's high end in opposite directions and inflate the range.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pint

from thecal.units import Dimension, InputError, check_dimension, fmt

Node = tuple[str, str]  # (route, drug), canonical names


@dataclass(frozen=True)
class Ratio:
    """One sourced ratio: from-dose : to-dose = ``low``…``high`` : 1."""

    from_route: str
    from_drug: str
    to_route: str
    to_drug: str
    low: float
    high: float
    source: str
    note: str = ""

    @property
    def start(self) -> Node:
        return (self.from_route, self.from_drug)

    @property
    def end(self) -> Node:
        return (self.to_route, self.to_drug)

    def describe(self) -> str:
        """``oral morphine : intrathecal morphine = 12–125 : 1``."""
        value = _num(self.low) if self.low == self.high else f"{_num(self.low)}–{_num(self.high)}"
        return f"{_name(self.start)} : {_name(self.end)} = {value} : 1"


@dataclass(frozen=True)
class ConversionTable:
    """Checked conversion data: canonical route and drug names with their aliases, and ratios."""

    routes: tuple[tuple[str, tuple[str, ...]], ...]
    drugs: tuple[tuple[str, tuple[str, ...]], ...]
    ratios: tuple[Ratio, ...]

    def route(self, text: str, field: str) -> str:
        return _lookup(text, self.routes, field, "route")

    def drug(self, text: str, field: str) -> str:
        return _lookup(text, self.drugs, field, "drug")

    @property
    def nodes(self) -> tuple[Node, ...]:
        seen: list[Node] = []
        for r in self.ratios:
            for n in (r.start, r.end):
                if n not in seen:
                    seen.append(n)
        return tuple(seen)


@dataclass(frozen=True)
class Step:
    """One ratio applied along (``forward``: to = from ÷ ratio) or against (to = from × ratio)
    its orientation."""

    ratio: Ratio
    forward: bool


@dataclass(frozen=True)
class ConversionPath:
    """A chain of sourced ratios and the dose range it gives (same time base as the input)."""

    steps: tuple[Step, ...]
    low: pint.Quantity
    high: pint.Quantity

    def describe(self) -> str:
        return " then ".join(
            s.ratio.describe() + ("" if s.forward else " (used in reverse)") for s in self.steps
        )


@dataclass(frozen=True)
class ConversionEstimate:
    """An estimated dose RANGE ``low``…``high`` (same time base as ``dose``) and its basis.

    ``paths``: each chain of ratios used, with its own range; ``ratios``: every ratio used, each
    with its source. ``summary`` says "estimate" and shows the range, never one number alone.
    """

    dose: pint.Quantity
    from_route: str
    from_drug: str
    to_route: str
    to_drug: str
    low: pint.Quantity
    high: pint.Quantity
    paths: tuple[ConversionPath, ...]
    ratios: tuple[Ratio, ...]
    summary: str


def build_conversions(data: Mapping[str, Any], origin: str = "conversions") -> ConversionTable:
    """Check parsed conversion data (see ``thecal/data/conversions.toml``).

    Raises :class:`InputError` naming the first bad field (``{origin}.ratios[i].ratio_low`` …)."""
    routes = _names(data.get("routes"), f"{origin}.routes")
    drugs = _names(data.get("drugs"), f"{origin}.drugs")
    raw_ratios = data.get("ratios")
    if not isinstance(raw_ratios, Sequence) or isinstance(raw_ratios, str) or not raw_ratios:
        raise InputError(f"{origin}.ratios", "is missing or empty", "a list of [[ratios]] tables")
    route_names = {n for n, _ in routes}
    drug_names = {n for n, _ in drugs}
    ratios: list[Ratio] = []
    for i, raw in enumerate(raw_ratios):
        where = f"{origin}.ratios[{i}]"
        if not isinstance(raw, Mapping):
            raise InputError(where, "is not a table", "a [[ratios]] table")
        text: dict[str, str] = {}
        for key, allowed in (
            ("from_route", route_names),
            ("from_drug", drug_names),
            ("to_route", route_names),
            ("to_drug", drug_names),
        ):
            value = raw.get(key)
            if not isinstance(value, str) or value not in allowed:
                raise InputError(
                    f"{where}.{key}", f"got {value!r}", "one of: " + ", ".join(allowed)
                )
            text[key] = value
        nums: dict[str, float] = {}
        for key in ("ratio_low", "ratio_high"):
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InputError(f"{where}.{key}", f"got {value!r}", "a number greater than zero")
            nums[key] = float(value)
        if nums["ratio_low"] > nums["ratio_high"]:
            raise InputError(f"{where}.ratio_high", "is below ratio_low", "ratio_low ≤ ratio_high")
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            raise InputError(f"{where}.source", "every ratio needs a source")
        ratio = Ratio(
            text["from_route"],
            text["from_drug"],
            text["to_route"],
            text["to_drug"],
            nums["ratio_low"],
            nums["ratio_high"],
            source,
            str(raw.get("note", "")),
        )
        if ratio.start == ratio.end:
            raise InputError(f"{where}.to_route", "converts a route and drug to itself")
        ratios.append(ratio)
    return ConversionTable(routes, drugs, tuple(ratios))


def convert(
    dose: pint.Quantity,
    from_route: str,
    to_route: str,
    drug: str,
    to_drug: str | None,
    data: Mapping[str, Any] | ConversionTable,
) -> ConversionEstimate:
    """Estimate the ``to_route`` dose range equivalent to ``dose`` of ``drug`` by ``from_route``.

    ``dose`` is a dose rate with its time base (e.g. mg/d); the range is in the same unit.
    ``to_drug`` None means the same drug. ``data``: parsed conversions data or a built table.
    Raises :class:`InputError` for a dose without a time base, a dose ≤ 0, an unknown route or
    drug, or a route/drug pair the data does not connect (the error lists the supported ones).
    """
    table = data if isinstance(data, ConversionTable) else build_conversions(data)
    check_dimension(dose, "dose", Dimension.DOSE_RATE)
    if dose.magnitude <= 0:
        raise InputError("dose", "must be greater than zero", Dimension.DOSE_RATE.example)
    start = (table.route(from_route, "from_route"), table.drug(drug, "drug"))
    goal = (
        table.route(to_route, "to_route"),
        table.drug(to_drug if to_drug is not None else drug, "to_drug"),
    )
    nodes = table.nodes
    if start not in nodes:
        raise InputError(
            "from_route",
            f"{_name(start)} is not in the conversion data",
            "one of: " + ", ".join(_name(n) for n in nodes),
        )
    if start == goal:
        raise InputError("to_route", f"converts {_name(start)} to itself", "a different route")
    found = [*_paths(table.ratios, start, goal, True), *_paths(table.ratios, start, goal, False)]
    if not found:
        reachable = sorted(
            {_name(n) for n in nodes if n != start and _connected(table.ratios, start, n)}
        )
        raise InputError(
            "to_route",
            f"no sourced conversion from {_name(start)} to {_name(goal)}",
            f"from {_name(start)}: " + ", ".join(reachable),
        )
    unit = dose.units
    paths: list[ConversionPath] = []
    for steps in found:
        lo, hi = _factor(steps)
        paths.append(ConversionPath(tuple(steps), (dose * lo).to(unit), (dose * hi).to(unit)))
    low = min((p.low for p in paths), key=lambda q: q.magnitude)
    high = max((p.high for p in paths), key=lambda q: q.magnitude)
    used: list[Ratio] = []
    for p in paths:
        for s in p.steps:
            if s.ratio not in used:
                used.append(s.ratio)
    return ConversionEstimate(
        dose=dose,
        from_route=start[0],
        from_drug=start[1],
        to_route=goal[0],
        to_drug=goal[1],
        low=low,
        high=high,
        paths=tuple(paths),
        ratios=tuple(used),
        summary=_summary(dose, start, goal, low, high, len(used), len(paths)),
    )


# -- helpers ------------------------------------------------------------------------------------


def _names(raw: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise InputError(where, "is missing or empty", "a list of tables with name and aliases")
    out: list[tuple[str, tuple[str, ...]]] = []
    for i, item in enumerate(raw):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{where}[{i}].name", "is required", "a name such as 'oral'")
        aliases = item.get("aliases", [])
        if not isinstance(aliases, Sequence) or not all(isinstance(a, str) for a in aliases):
            raise InputError(f"{where}[{i}].aliases", "must be a list of strings")
        out.append((name, tuple(aliases)))
    return tuple(out)


def _lookup(
    text: str, names: tuple[tuple[str, tuple[str, ...]], ...], field: str, what: str
) -> str:
    wanted = text.strip().casefold()
    for name, aliases in names:
        if wanted == name.casefold() or wanted in (a.casefold() for a in aliases):
            return name
    raise InputError(field, f"unknown {what} {text!r}", "one of: " + ", ".join(n for n, _ in names))


def _paths(ratios: tuple[Ratio, ...], start: Node, goal: Node, forward: bool) -> list[list[Step]]:
    """Every node-simple path from ``start`` to ``goal`` using ratios all along (``forward``) or
    all against their orientation. Parallel ratios (two sources for one pair) are separate
    paths."""
    out: list[list[Step]] = []

    def walk(node: Node, visited: list[Node], steps: list[Step]) -> None:
        if node == goal:
            out.append(list(steps))
            return
        for r in ratios:
            a, b = (r.start, r.end) if forward else (r.end, r.start)
            if a == node and b not in visited:
                walk(b, [*visited, b], [*steps, Step(r, forward)])

    walk(start, [start], [])
    return out


def _connected(ratios: tuple[Ratio, ...], a: Node, b: Node) -> bool:
    return bool(_paths(ratios, a, b, True) or _paths(ratios, a, b, False))


def _factor(steps: Sequence[Step]) -> tuple[float, float]:
    """(lowest, highest) factor to-dose ÷ from-dose along ``steps``."""
    lo, hi = 1.0, 1.0
    for s in steps:
        if s.forward:  # to = from ÷ ratio: the highest ratio gives the lowest dose
            lo, hi = lo / s.ratio.high, hi / s.ratio.low
        else:  # to = from × ratio
            lo, hi = lo * s.ratio.low, hi * s.ratio.high
    return lo, hi


def _summary(
    dose: pint.Quantity,
    start: Node,
    goal: Node,
    low: pint.Quantity,
    high: pint.Quantity,
    n_ratios: int,
    n_paths: int,
) -> str:
    head = f"Estimate only: {fmt(dose)} {_name(start)} corresponds to "
    if abs(low.magnitude - high.magnitude) <= 1e-12 * max(abs(high.magnitude), 1.0):
        body = (
            f"about {_show(low)} {_name(goal)} (range {_show(low)} to {_show(high)}: only one "
            "sourced ratio value, so no spread is known)"
        )
    else:
        body = (
            f"{_show(low)} to {_show(high)} {_name(goal)} (range spans {n_ratios} sourced "
            f"ratio{'s' if n_ratios != 1 else ''} over {n_paths} conversion "
            f"path{'s' if n_paths != 1 else ''})"
        )
    return (
        head
        + body
        + ". Conversion ratios differ between sources and patients: this estimate is not a dose "
        "to program. The clinician chooses the dose and titrates."
    )


def _show(q: pint.Quantity) -> str:
    """Three significant figures without exponent notation (``0.167 mg/d``, ``90000 mg/d``)."""
    x = float(q.magnitude)
    digits = 3 - 1 - math.floor(math.log10(abs(x))) if x else 0
    text = f"{round(x, digits):.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    unit = fmt(q).split(" ", 1)[1] if " " in fmt(q) else ""
    return f"{text} {unit}".strip()


def _name(node: Node) -> str:
    return f"{node[0]} {node[1]}"


def _num(x: float) -> str:
    return f"{x:g}"
