"""The drug library: shipped defaults plus institution layers, built from plain mappings.

Reading files is an adapter's job (``thecal.adapters.library_files``); this module only
validates and merges already-parsed data, reporting every error with its location.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pint

from thecal.therapy.admixture import MAX_DRUGS
from thecal.therapy.drugs import CONDITIONS, Bound, Drug, DrugClass, Limit, LimitKind
from thecal.therapy.findings import Level
from thecal.therapy.schedule import MAX_STEPS_PER_DAY
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class RestartRule:
    """After an interruption of at least ``min_interruption``, propose restarting opioids at
    ``restart_fraction`` of the previous daily dose. Institution data: no shipped default."""

    min_interruption: pint.Quantity
    restart_fraction: float
    source: str


@dataclass(frozen=True)
class Settings:
    """Institution-wide settings that are not tied to one drug."""

    unlabelled_level: Level = Level.INFO
    unlabelled_source: str = ""
    discrepancy_threshold: pint.Quantity | None = None
    discrepancy_source: str = ""
    refill_margin: pint.Quantity | None = None
    max_refill_interval: pint.Quantity | None = None
    max_refill_interval_source: str = ""
    restart_rules: tuple[RestartRule, ...] = ()
    tolerance_source: str = ""
    opioid_naive_source: str = ""
    # Institution: an interruption shorter than this is not counted (no restart finding). No
    # shipped value: no intrathecal source gives one (see drugs.toml).
    restart_min_interruption: pint.Quantity | None = None
    restart_min_interruption_source: str = ""
    # Shipped product choice: with no institution minimum, a reduced restart dose is proposed
    # from this interruption on; shorter ones ask for a clinician's decision without a cut.
    tolerance_loss_after: pint.Quantity | None = None
    tolerance_loss_after_source: str = ""
    # Step-change guard: the band (fraction) around each slip factor; None = guard off.
    slip_tolerance: float | None = None
    slip_source: str = ""
    # How far above the reservoir's capacity a withdrawn residual may be read before it is
    # refused as physically impossible (None: no allowance, the capacity itself is the limit).
    withdrawn_tolerance: pint.Quantity | None = None
    withdrawn_tolerance_source: str = ""
    # Plan-format limits (product choices, shipped in drugs.toml with their reasons): the most
    # drugs in one admixture and the most flex steps in one day program; at the limit is
    # accepted, one more refused. Defaults equal the shipped values for callers without a library.
    max_admixture_drugs: int = MAX_DRUGS
    max_admixture_drugs_source: str = ""
    max_flex_steps_per_day: int = MAX_STEPS_PER_DAY
    max_flex_steps_per_day_source: str = ""


@dataclass(frozen=True)
class DrugLibrary:
    drugs: tuple[Drug, ...]
    settings: Settings = field(default_factory=Settings)
    layers: tuple[str, ...] = ()

    def find(self, name: str) -> Drug | None:
        wanted = name.strip().casefold()
        for drug in self.drugs:
            if drug.name.casefold() == wanted or wanted in (s.casefold() for s in drug.synonyms):
                return drug
        return None

    def get(self, name: str, field_name: str = "drug") -> Drug:
        """The drug called ``name`` (or a synonym); :class:`InputError` if the library lacks it."""
        drug = self.find(name)
        if drug is None:
            known = ", ".join(d.name for d in self.drugs)
            raise InputError(field_name, f"unknown drug {name!r}", f"one of: {known}")
        return drug


class LibraryError(ValueError):
    """Every problem found while loading library data, each with its location."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__(
            f"{len(self.errors)} error(s) in drug library:\n" + "\n".join(f"  {e}" for e in errors)
        )


def build_library(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> DrugLibrary:
    """Merge library layers in order (shipped defaults first, institution files after).

    A later layer may add drugs, change a drug's fields, and add or replace limits: a limit
    replaces an earlier one with the same bound, conditions and level. Raises
    :class:`LibraryError` listing every error as ``<layer>: <path>: <message>``.
    """
    errors: list[InputError] = []
    drugs: dict[str, Drug] = {}
    settings = Settings()
    for origin, data in layers:
        collector = _Collector(origin, errors)
        settings = collector.settings(data.get("settings", {}), settings)
        raw_drugs = data.get("drugs", [])
        if not isinstance(raw_drugs, list):
            collector.error("drugs", "must be a list of [[drugs]] tables")
            continue
        for i, raw in enumerate(raw_drugs):
            where = f"drugs[{i}]"
            if not isinstance(raw, Mapping):
                collector.error(where, "must be a table")
                continue
            name = raw.get("name")
            if not isinstance(name, str) or not name.strip():
                collector.error(f"{where}.name", "is required", "a drug name such as 'morphine'")
                continue
            key = name.strip().casefold()
            existing = drugs.get(key)
            drug = collector.drug(where, raw, existing)
            if drug is not None:
                drugs[key] = drug
    if errors:
        raise LibraryError(errors)
    return DrugLibrary(tuple(drugs.values()), settings, tuple(origin for origin, _ in layers))


_DRUG_KEYS = {
    "name",
    "synonyms",
    "class",
    "labelled_for_pump",
    "source",
    "marketed_concentrations",
    "undiluted_concentrations",
    "limits",
    "withdrawal_warning",
    "monitoring",
    "notes",
}
_LIMIT_KEYS = {"bound", "value", "level", "source", "when", "note", "kind"}
_SETTINGS_KEYS = {
    "unlabelled_level",
    "unlabelled_source",
    "discrepancy_threshold",
    "discrepancy_source",
    "refill_margin",
    "max_refill_interval",
    "max_refill_interval_source",
    "restart_rules",
    "tolerance_source",
    "opioid_naive_source",
    "restart_min_interruption",
    "restart_min_interruption_source",
    "tolerance_loss_after",
    "tolerance_loss_after_source",
    "slip_tolerance",
    "slip_source",
    "withdrawn_tolerance",
    "withdrawn_tolerance_source",
    "max_admixture_drugs",
    "max_admixture_drugs_source",
    "max_flex_steps_per_day",
    "max_flex_steps_per_day_source",
}


class _Collector:
    def __init__(self, origin: str, errors: list[InputError]) -> None:
        self.origin = origin
        self.errors = errors

    def error(self, path: str, message: str, expected: str | None = None) -> None:
        self.errors.append(InputError(f"{self.origin}: {path}", message, expected))

    def unknown_keys(self, path: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(raw) - allowed):
            self.error(f"{path}.{key}", "unknown key", "one of: " + ", ".join(sorted(allowed)))

    def text(self, path: str, value: Any, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.error(path, "is required", "text")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(path, "must be non-empty text", "text")
            return None
        return value

    def quantity(self, path: str, value: Any, dim: Dimension) -> pint.Quantity | None:
        try:
            return parse_quantity(value, "", dim)
        except InputError as exc:
            self.error(path, exc.message, exc.expected)
            return None

    def settings(self, raw: Any, base: Settings) -> Settings:
        if not isinstance(raw, Mapping):
            self.error("settings", "must be a table")
            return base
        self.unknown_keys("settings", raw, _SETTINGS_KEYS)
        out = base
        if "unlabelled_level" in raw:
            level = raw["unlabelled_level"]
            if level not in ("info", "soft"):
                self.error("settings.unlabelled_level", f"got {level!r}", "'info' or 'soft'")
            else:
                out = replace(out, unlabelled_level=Level(level))
        for key, dim in (
            ("discrepancy_threshold", Dimension.VOLUME),
            ("refill_margin", Dimension.TIME),
            ("max_refill_interval", Dimension.TIME),
            ("restart_min_interruption", Dimension.TIME),
            ("tolerance_loss_after", Dimension.TIME),
            ("withdrawn_tolerance", Dimension.VOLUME),
        ):
            if key in raw:
                q = self.quantity(f"settings.{key}", raw[key], dim)
                if q is not None:
                    if q.magnitude < 0:
                        self.error(f"settings.{key}", "must not be negative")
                    else:
                        out = replace(out, **{key: q})  # type: ignore[arg-type]
        for key in (
            "unlabelled_source",
            "discrepancy_source",
            "max_refill_interval_source",
            "tolerance_source",
            "opioid_naive_source",
            "restart_min_interruption_source",
            "tolerance_loss_after_source",
            "slip_source",
            "withdrawn_tolerance_source",
            "max_admixture_drugs_source",
            "max_flex_steps_per_day_source",
        ):
            if key in raw:
                text = self.text(f"settings.{key}", raw[key], required=True)
                if text:
                    out = replace(out, **{key: text})  # type: ignore[arg-type]
        if "slip_tolerance" in raw:
            tol = self.quantity(
                "settings.slip_tolerance", raw["slip_tolerance"], Dimension.DIMENSIONLESS
            )
            if tol is not None:
                # Below 100 %: the x10 band [10 / (1 + t), 10 (1 + t)] must stay clear of x1.
                if not 0 <= tol.to("").magnitude < 1:
                    self.error("settings.slip_tolerance", "must be from 0 to below 100 %", "'50 %'")
                else:
                    out = replace(out, slip_tolerance=float(tol.to("").magnitude))
        if out.slip_tolerance is not None and not out.slip_source:
            self.error("settings.slip_source", "is required with a slip tolerance")
        if out.max_refill_interval is not None and not out.max_refill_interval_source:
            self.error("settings.max_refill_interval_source", "is required with a maximum interval")
        for key in ("restart_min_interruption", "tolerance_loss_after"):
            # A layer that sets the value states its own source (never inherits an earlier one).
            if key in raw and f"{key}_source" not in raw:
                self.error(f"settings.{key}_source", f"is required with {key}")
        if out.withdrawn_tolerance is not None and not out.withdrawn_tolerance_source:
            self.error("settings.withdrawn_tolerance_source", "is required with a tolerance")
        for key in ("max_admixture_drugs", "max_flex_steps_per_day"):
            if key in raw:
                value = raw[key]
                # bool is an int in Python: refuse it explicitly.
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    self.error(f"settings.{key}", f"got {value!r}", "a whole number >= 1")
                else:
                    out = replace(out, **{key: value})  # type: ignore[arg-type]
                # A layer that sets the value states its own source (never inherits one).
                if f"{key}_source" not in raw:
                    self.error(f"settings.{key}_source", f"is required with {key}")
        if "restart_rules" in raw:
            out = replace(out, restart_rules=self.restart_rules(raw["restart_rules"]))
        return out

    def restart_rules(self, raw: Any) -> tuple[RestartRule, ...]:
        if not isinstance(raw, list):
            self.error("settings.restart_rules", "must be a list of tables")
            return ()
        rules: list[RestartRule] = []
        for i, item in enumerate(raw):
            path = f"settings.restart_rules[{i}]"
            if not isinstance(item, Mapping):
                self.error(path, "must be a table")
                continue
            self.unknown_keys(path, item, {"min_interruption", "restart_fraction", "source"})
            gap = self.quantity(
                f"{path}.min_interruption", item.get("min_interruption"), Dimension.TIME
            )
            frac = self.quantity(
                f"{path}.restart_fraction", item.get("restart_fraction"), Dimension.DIMENSIONLESS
            )
            source = self.text(f"{path}.source", item.get("source"), required=True)
            if frac is not None and not 0 < frac.to("").magnitude < 1:
                self.error(f"{path}.restart_fraction", "must be between 0 and 100 %", "e.g. '50 %'")
                continue
            if gap is not None and frac is not None and source:
                rules.append(RestartRule(gap, float(frac.to("").magnitude), source))
        return tuple(sorted(rules, key=lambda r: r.min_interruption.to("h").magnitude))

    def drug(self, where: str, raw: Mapping[str, Any], existing: Drug | None) -> Drug | None:
        self.unknown_keys(where, raw, _DRUG_KEYS)
        ok = True
        name = str(raw["name"]).strip()
        if existing is None:
            for required in ("class", "labelled_for_pump", "source"):
                if required not in raw:
                    self.error(f"{where}.{required}", "is required for a new drug")
                    ok = False
        drug_class = existing.drug_class if existing else DrugClass.OPIOID
        if "class" in raw:
            try:
                drug_class = DrugClass(raw["class"])
            except ValueError:
                self.error(
                    f"{where}.class",
                    f"got {raw['class']!r}",
                    "one of: " + ", ".join(c.value for c in DrugClass),
                )
                ok = False
        labelled = existing.labelled_for_pump if existing else False
        if "labelled_for_pump" in raw:
            if not isinstance(raw["labelled_for_pump"], bool):
                self.error(f"{where}.labelled_for_pump", "must be true or false")
                ok = False
            else:
                labelled = raw["labelled_for_pump"]
        source = self.text(f"{where}.source", raw.get("source")) or (
            existing.source if existing else ""
        )
        synonyms = existing.synonyms if existing else ()
        if "synonyms" in raw:
            if not isinstance(raw["synonyms"], list) or not all(
                isinstance(s, str) for s in raw["synonyms"]
            ):
                self.error(f"{where}.synonyms", "must be a list of names")
                ok = False
            else:
                synonyms = tuple(dict.fromkeys([*synonyms, *raw["synonyms"]]))
        marketed = existing.marketed_concentrations if existing else ()
        undiluted = existing.undiluted_concentrations if existing else ()
        for key in ("marketed_concentrations", "undiluted_concentrations"):
            if key in raw:
                values = raw[key]
                if not isinstance(values, list):
                    self.error(f"{where}.{key}", "must be a list", "e.g. ['10 mg/mL', '25 mg/mL']")
                    ok = False
                    continue
                parsed = [
                    self.quantity(f"{where}.{key}[{j}]", v, Dimension.CONCENTRATION)
                    for j, v in enumerate(values)
                ]
                if any(p is None for p in parsed):
                    ok = False
                    continue
                clean = tuple(p for p in parsed if p is not None)
                if key == "marketed_concentrations":
                    marketed = clean
                else:
                    undiluted = clean
        limits = list(existing.limits) if existing else []
        raw_limits = raw.get("limits", [])
        if not isinstance(raw_limits, list):
            self.error(f"{where}.limits", "must be a list of [[drugs.limits]] tables")
            raw_limits = []
            ok = False
        for j, raw_limit in enumerate(raw_limits):
            limit = self.limit(f"{where}.limits[{j}]", raw_limit)
            if limit is None:
                ok = False
                continue
            replaced = [old for old in limits if old.key == limit.key]
            if replaced:
                limit = self.loosening(f"{where}.limits[{j}]", limit, replaced[0])
                if limit is None:
                    ok = False
                    continue
            limits = [old for old in limits if old.key != limit.key]
            limits.append(limit)
        withdrawal = raw.get("withdrawal_warning", existing.withdrawal_warning if existing else "")
        monitoring = raw.get("monitoring", existing.monitoring if existing else "")
        notes = tuple(raw.get("notes", existing.notes if existing else ()))
        if not ok:
            return None
        return Drug(
            name=existing.name if existing else name,
            drug_class=drug_class,
            labelled_for_pump=labelled,
            source=source,
            synonyms=synonyms,
            marketed_concentrations=marketed,
            undiluted_concentrations=undiluted,
            limits=tuple(limits),
            withdrawal_warning=str(withdrawal),
            monitoring=str(monitoring),
            notes=notes,
        )

    def limit(self, path: str, raw: Any) -> Limit | None:
        if not isinstance(raw, Mapping):
            self.error(path, "must be a table")
            return None
        self.unknown_keys(path, raw, _LIMIT_KEYS)
        try:
            bound = Bound(str(raw.get("bound")))
        except ValueError:
            self.error(
                f"{path}.bound",
                f"got {raw.get('bound')!r}",
                "one of: " + ", ".join(b.value for b in Bound),
            )
            return None
        value = self.quantity(f"{path}.value", raw.get("value"), bound.dimension)
        level_text = raw.get("level")
        level: Level | None = None
        if level_text not in ("hard", "soft", "info"):
            self.error(f"{path}.level", f"got {level_text!r}", "'hard', 'soft' or 'info'")
        else:
            level = Level(level_text)
        source = self.text(f"{path}.source", raw.get("source"), required=True)
        when_raw = raw.get("when", {})
        when: list[tuple[str, str]] = []
        if not isinstance(when_raw, Mapping):
            self.error(f"{path}.when", "must be a table such as { opioid_naive = true }")
            return None
        for key, val in when_raw.items():
            text = str(val).lower() if isinstance(val, bool) else str(val)
            if key not in CONDITIONS:
                self.error(
                    f"{path}.when.{key}", "unknown condition", "one of: " + ", ".join(CONDITIONS)
                )
            elif text not in CONDITIONS[key]:
                self.error(
                    f"{path}.when.{key}", f"got {val!r}", "one of: " + ", ".join(CONDITIONS[key])
                )
            else:
                when.append((key, text))
        if value is not None and value.magnitude <= 0:
            self.error(f"{path}.value", "must be greater than zero")
            return None
        kind = LimitKind.CLINICAL
        if "kind" in raw:
            try:
                kind = LimitKind(str(raw["kind"]))
            except ValueError:
                self.error(f"{path}.kind", f"got {raw['kind']!r}", "'clinical' or 'entry_error'")
                return None
            if kind is LimitKind.ENTRY_ERROR and level is not Level.HARD:
                self.error(f"{path}.level", "an entry-error ceiling is always hard", "'hard'")
                return None
        if value is None or level is None or not source:
            return None
        return Limit(
            bound, value, level, source, tuple(sorted(when)), str(raw.get("note", "")), kind
        )

    def loosening(self, path: str, new: Limit, old: Limit) -> Limit | None:
        """An institution may tighten any limit. Loosening an earlier layer's hard limit needs
        a source of its own, and every finding the looser limit raises shows both sources."""
        if old.level is not Level.HARD or not new.looser_than(old):
            return new
        if new.source.strip() == old.source.strip():
            self.error(
                f"{path}.source",
                f"loosens the hard limit {old.value:~P} of an earlier layer with the same source",
                "the institution's own source for the looser limit",
            )
            return None
        return replace(
            new,
            loosens=old,
            source=f"{new.source} [institution limit, loosened from {old.value:~P}: {old.source}]",
        )
