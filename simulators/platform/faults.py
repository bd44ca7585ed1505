"""Fault rules: a matcher (system, operation) and an effect, limited by ``times`` or ``probability``.

Effects: ``{"status": 503, "body": ...}``, ``{"latencyMs": 2500}`` (then the call goes on), ``{"drop": true}``
(the connection is closed without an answer) or ``{"preset": "<system>.<name>"}`` (a system's own wire
error). Counting is done in one write transaction per match, so ``times`` holds across threads and
processes; ``probability`` with a ``seed`` draws from a sequence fixed by the seed and the call's index.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from typing import Any

from .errors import Invalid, NotFound
from .store import Store, Table, dumps, loads
from .timeutil import iso, utcnow

FAULT_TABLE = Table(
    name="_faults",
    columns={"id": str, "system": str, "operation": str, "effect": str, "times": int, "remaining": int,
             "probability": float, "seed": int, "evaluated": int, "hits": int, "created_at": str},
    pk=("id",),
    state=False,
)

MAX_LATENCY_MS = 120_000


class Faults:
    def __init__(self, store: Store, systems: dict[str, Any]) -> None:
        self.store = store
        self.systems = systems

    def presets(self) -> dict[str, Any]:
        out = {}
        for system in self.systems.values():
            out.update(system.presets)
        return out

    def validate(self, rule: Any) -> dict[str, Any]:
        if not isinstance(rule, dict):
            raise Invalid("body must be a JSON object", field="body")
        matcher = rule.get("matcher", {k: rule[k] for k in ("system", "operation") if k in rule})
        if not isinstance(matcher, dict):
            raise Invalid("matcher must be an object with system and/or operation", field="matcher")
        system, operation = matcher.get("system"), matcher.get("operation")
        if system is None and operation is None:
            raise Invalid("a fault rule needs a matcher: system and/or operation", field="matcher")
        names = {s.name for s in self.systems.values()}
        if system is not None and (not isinstance(system, str) or system not in names):
            raise Invalid(f"matcher.system must be one of {', '.join(sorted(names))}, got {system!r}",
                          field="matcher.system")
        if operation is not None and (not isinstance(operation, str) or not operation.strip()):
            raise Invalid(f"matcher.operation must be a non-empty string, got {operation!r}",
                          field="matcher.operation")
        effect = rule.get("effect", {k: rule[k] for k in ("status", "body", "headers", "latencyMs", "drop", "preset")
                                     if k in rule})
        if not isinstance(effect, dict) or not effect:
            raise Invalid("an effect is required: status (+body), latencyMs, drop or preset", field="effect")
        unknown = set(effect) - {"status", "body", "headers", "latencyMs", "drop", "preset"}
        if unknown:
            raise Invalid(f"unknown effect field(s): {', '.join(sorted(unknown))}", field="effect")
        if "status" in effect:
            st = effect["status"]
            if not isinstance(st, int) or isinstance(st, bool) or not 200 <= st <= 599:
                raise Invalid(f"status must be an integer from 200 to 599, got {st!r}", field="effect.status")
        if "headers" in effect and not (isinstance(effect["headers"], dict)
                                        and all(isinstance(v, str) for v in effect["headers"].values())):
            raise Invalid("headers must be an object of strings", field="effect.headers")
        if "latencyMs" in effect:
            lat = effect["latencyMs"]
            if not isinstance(lat, int | float) or isinstance(lat, bool) or not 0 <= lat <= MAX_LATENCY_MS:
                raise Invalid(f"latencyMs must be a number from 0 to {MAX_LATENCY_MS}, got {lat!r}",
                              field="effect.latencyMs")
        if "drop" in effect and effect["drop"] is not True:
            raise Invalid(f"drop must be true, got {effect['drop']!r}", field="effect.drop")
        if "preset" in effect:
            presets = self.presets()
            if effect["preset"] not in presets:
                raise Invalid(f"unknown preset {effect['preset']!r}; known: {', '.join(sorted(presets))}",
                              field="effect.preset")
        kinds = [k for k in ("status", "drop", "preset") if k in effect]
        if len(kinds) > 1:
            raise Invalid(f"choose one of status, drop and preset, got {', '.join(kinds)}", field="effect")
        if "body" in effect and "status" not in effect:
            raise Invalid("body needs a status", field="effect.body")
        times, probability, seed = rule.get("times"), rule.get("probability"), rule.get("seed")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise Invalid(f"times must be a positive integer, got {times!r}", field="times")
        if probability is not None and (not isinstance(probability, int | float) or isinstance(probability, bool)
                                        or not 0 <= probability <= 1):
            raise Invalid(f"probability must be a number from 0 to 1, got {probability!r}", field="probability")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise Invalid(f"seed must be an integer, got {seed!r}", field="seed")
        return {"system": system, "operation": operation, "effect": effect, "times": times,
                "probability": probability, "seed": seed if seed is not None else 0}

    def add(self, sandbox: str, rule: Any) -> dict[str, Any]:
        clean = self.validate(rule)
        fid = f"flt-{secrets.token_hex(4)}"
        with self.store.write() as db:
            db["_faults"].insert({
                "sandbox": sandbox, "id": fid, "system": clean["system"], "operation": clean["operation"],
                "effect": dumps(clean["effect"]), "times": clean["times"], "remaining": clean["times"],
                "probability": clean["probability"], "seed": clean["seed"], "evaluated": 0, "hits": 0,
                "created_at": iso(utcnow())})
        return self.get(sandbox, fid)

    def _out(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {"id": row["id"], "matcher": {k: row[k] for k in ("system", "operation") if row[k] is not None},
               "effect": loads(row["effect"], {}), "hits": row["hits"], "createdAt": row["created_at"]}
        if row["times"] is not None:
            out["times"] = row["times"]
            out["remaining"] = row["remaining"]
        if row["probability"] is not None:
            out["probability"] = row["probability"]
            out["seed"] = row["seed"]
        return out

    def get(self, sandbox: str, fid: str) -> dict[str, Any]:
        with self.store.read() as db:
            rows = list(db.query("SELECT * FROM _faults WHERE sandbox = ? AND id = ?", [sandbox, fid]))
        if not rows:
            raise NotFound(f"fault {fid!r} not found", field="faultId")
        return self._out(rows[0])

    def list(self, sandbox: str) -> list[dict[str, Any]]:
        with self.store.read() as db:
            rows = list(db.query("SELECT * FROM _faults WHERE sandbox = ? ORDER BY created_at, id", [sandbox]))
        return [self._out(r) for r in rows]

    def delete(self, sandbox: str, fid: str) -> None:
        with self.store.write() as db:
            if not db.execute("DELETE FROM _faults WHERE sandbox = ? AND id = ?", [sandbox, fid]).rowcount:
                raise NotFound(f"fault {fid!r} not found", field="faultId")

    def pick(self, sandbox: str, system: str, operation: str, *, any_rule: bool | None = None
             ) -> dict[str, Any] | None:
        """The effect of the first rule that fires for this call, counting it; None when none fires.
        ``any_rule``: whether the sandbox has any rule, when the caller has just read it (``Clock.enter``)."""
        short = operation.split(".", 1)[1] if operation.startswith(system + ".") else operation
        if any_rule is False:
            return None
        if any_rule is None:
            with self.store.read() as db:
                if not db.execute("SELECT 1 FROM _faults WHERE sandbox = ? LIMIT 1", [sandbox]).fetchone():
                    return None
        with self.store.write() as db:
            rows = list(db.query(
                "SELECT * FROM _faults WHERE sandbox = ? AND (system IS NULL OR system = ?) "
                "AND (operation IS NULL OR operation = ? OR operation = ?) "
                "AND (remaining IS NULL OR remaining > 0) ORDER BY created_at, id",
                [sandbox, system, short, f"{system}.{short}"]))
            for row in rows:
                db.execute("UPDATE _faults SET evaluated = evaluated + 1 WHERE sandbox = ? AND id = ?",
                           [sandbox, row["id"]])
                if row["probability"] is not None:
                    digest = hashlib.sha256(f"{row['seed']}:{row['evaluated']}".encode()).digest()
                    if random.Random(digest).random() >= row["probability"]:
                        continue
                db.execute("UPDATE _faults SET hits = hits + 1, remaining = CASE WHEN remaining IS NULL "
                           "THEN NULL ELSE remaining - 1 END WHERE sandbox = ? AND id = ?", [sandbox, row["id"]])
                return loads(row["effect"], {})
        return None
