"""The drug library: shipped defaults plus institution layers, built from plain mappings —
the drugs and the layering of their limits (a later layer tightens, or with its own source
loosens, an earlier one). The institution-wide settings: :mod:`thecal.therapy.library_settings`.

Reading files is an adapter's job (``thecal.adapters.library_files``); this module only
validates and merges already-parsed data, reporting every error with its location.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from thecal.therapy.drugs import CONDITIONS, Bound, Drug, DrugClass, Limit, LimitKind
from thecal.therapy.findings import Level
from thecal.therapy.library_collector import Collector
from thecal.therapy.library_settings import RestartRule, Settings, read_settings
from thecal.units import Dimension, InputError

__all__ = [
    "DrugLibrary",
    "LibraryError",
    "RestartRule",
    "Settings",
    "build_library",
]


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
        collector = _DrugCollector(origin, errors)
        settings = read_settings(collector, data.get("settings", {}), settings)
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


class _DrugCollector(Collector):
    """A layer's drugs checked, and their limits layered over the earlier layers'."""

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
