"""Presentation helpers for the dashboard's templates: dates in the sandbox clock, badges, masking, and
small shapers that turn control-plane answers into what a card shows. Nothing here decides a rule: a
status, a flag or an expiry is shown as the control plane reports it; the only arithmetic is display
(relative times, percentages).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Environment, Undefined
from markupsafe import Markup, escape

MASK = "••••••••"
SECRET_KEY = re.compile(r"(password|passwd|secret|token|authorization)", re.I)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _blank(value: Any) -> bool:
    return value is None or isinstance(value, Undefined) or value == ""


def parse_when(value: Any) -> datetime | None:
    """An ISO date or date-time (as the control plane writes them) as an aware UTC datetime."""
    if _blank(value) or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        return None


def when(value: Any, with_time: bool = True) -> str:
    """``15 Sep 2026, 09:30`` (UTC, the sandbox clock's zone); a date alone stays a date."""
    dt = parse_when(value)
    if dt is None:
        return "" if _blank(value) else str(value)
    dt = dt.astimezone(UTC)
    text = f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"
    if with_time and isinstance(value, str) and len(value.strip()) > 10:
        text += f", {dt:%H:%M}"
    return text


def day(value: Any) -> str:
    return when(value, with_time=False)


def short_day(value: Any) -> str:
    """``15 Dec`` (the year left out), for dense tables."""
    dt = parse_when(value)
    return f"{dt.day} {MONTHS[dt.month - 1]}" if dt else ("" if _blank(value) else str(value))


def date_range(start: Any, end: Any) -> str:
    """``15–19 Dec 2026``, ``30 Dec 2026 – 2 Jan 2027`` or one day."""
    a, b = parse_when(start), parse_when(end)
    if a is None:
        return "" if _blank(start) else str(start)
    if b is None or b.date() == a.date():
        return day(start)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {MONTHS[a.month - 1]} {a.year}"
    if a.year == b.year:
        return f"{a.day} {MONTHS[a.month - 1]} – {b.day} {MONTHS[b.month - 1]} {a.year}"
    return f"{day(start)} – {day(end)}"


def clock_time(value: Any) -> str:
    dt = parse_when(value)
    return f"{dt:%H:%M:%S}" if dt else ""


def clock_date(value: Any) -> str:
    dt = parse_when(value)
    return f"{DAYS[dt.weekday()]} {dt.day} {MONTHS[dt.month - 1]} {dt.year}" if dt else ""


def relative(value: Any, now: datetime | None) -> str:
    """``in 3 days`` / ``2 hours ago`` against the sandbox clock."""
    dt = parse_when(value)
    if dt is None or now is None:
        return ""
    seconds = (dt - now).total_seconds()
    future, s = seconds >= 0, abs(seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600),
                       ("minute", 60)):
        if s >= size:
            n = int(s // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    n = int(s)
    if n == 0:
        return "now"
    return f"in {n} s" if future else f"{n} s ago"


def offset(seconds: Any) -> str:
    """A clock offset as ``+30 d 4 h`` (or ``real time``)."""
    if not isinstance(seconds, int | float):
        return ""
    if abs(seconds) < 1:
        return "real time"
    sign = "+" if seconds > 0 else "−"
    s = abs(int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    parts = [f"{d} d"] if d else []
    if h:
        parts.append(f"{h} h")
    if m and not d:
        parts.append(f"{m} min")
    if not parts:
        parts.append(f"{sec} s")
    return sign + " ".join(parts)


def masked(value: Any) -> str:
    return "" if _blank(value) else MASK


def masked_link(value: Any) -> str:
    """A link with its secret-named query values (a login token) masked."""
    if _blank(value):
        return ""
    return re.sub(r"([?&][^=&#]*(?:token|password|secret|key)[^=&#]*=)[^&#]*", lambda m: m.group(1) + MASK,
                  str(value), flags=re.I)


def mask_secrets(value: Any) -> Any:
    """A copy of a JSON value with every secret-named field's value masked."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and SECRET_KEY.search(k) and v else mask_secrets(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def pretty(value: Any) -> str:
    """A body for a ``<pre>``: JSON re-indented when it parses, else the text as it came."""
    if _blank(value):
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                return value
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def status_tone(status: Any) -> str:
    if not isinstance(status, int) or status == 0:
        return "bad"
    if status < 300:
        return "ok"
    if status < 500:
        return "warn"
    return "bad"


FLAG_TEXT = {
    "refresherWithoutFullCourse": "Refresher with no full WAH course on file",
    "jhscPart2WithoutTimelyPart1": "JHSC Part 2 without a Part 1 in the 6 months before",
}
QUEUE_TEXT = {
    "noSharedContact": "Same name and birth year as a learner, but no shared contact",
    "multipleCandidates": "More than one learner has this name and birth year",
}


def flag_text(value: Any) -> str:
    return FLAG_TEXT.get(str(value), label(value))


def queue_text(value: Any) -> str:
    return QUEUE_TEXT.get(str(value), label(value))


TONES = {
    # generic
    "ok": "ok", "delivered": "ok", "matched": "ok", "valid": "ok", "published": "ok", "active": "ok",
    "completed": "ok", "complete": "ok", "on_track": "ok", "new": "info", "newlearner": "info",
    "queued": "warn", "behind": "warn", "pending": "warn", "expiring": "warn", "not yet visible": "warn",
    "no_show": "warn", "full": "bad", "failed": "bad", "expired": "bad", "cancelled": "muted",
    "voided": "muted", "deleted": "muted", "withdrawn": "muted", "inactive": "muted",
}


def tone(value: Any) -> str:
    if _blank(value):
        return "muted"
    return TONES.get(str(value).strip().lower(), "info")


def label(value: Any) -> str:
    """``ON_TRACK`` → ``On track``, ``newLearner`` → ``New learner``."""
    if _blank(value):
        return ""
    text = str(value)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:].lower()


def money(amount: Any, currency: Any = None) -> str:
    if _blank(amount):
        return ""
    try:
        value = float(amount)
    except (TypeError, ValueError):
        return str(amount)
    text = f"{value:,.0f}" if value == int(value) and not _blank(currency) else f"{value:,.2f}"
    if _blank(currency):
        return f"${text}"
    return f"{text} {currency}"


def percent(value: Any) -> int:
    try:
        return max(0, min(100, round(float(value))))
    except (TypeError, ValueError):
        return 0


def safe_url(value: Any) -> str | None:
    """Only http(s) links become links (a record's URL is client data)."""
    if isinstance(value, str) and re.match(r"^https?://", value.strip(), re.I):
        return value.strip()
    return None


def pick(d: Any, *names: str, default: Any = None) -> Any:
    """The first present field of ``d`` among ``names`` (dotted names reach into nested objects)."""
    if not isinstance(d, dict):
        return default
    for name in names:
        cur: Any = d
        for part in name.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if not _blank(cur):
            return cur
    return default


def person(d: Any) -> str:
    if not isinstance(d, dict):
        return ""
    first = pick(d, "firstname", "firstName", "Forename", "forename", "learner.firstname", default="")
    last = pick(d, "lastname", "lastName", "Surname", "surname", "learner.lastname", default="")
    name = f"{first} {last}".strip()
    return name or str(pick(d, "name", "displayName", default=""))


def initials(name: Any) -> str:
    parts = [p for p in str(name or "").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def items_of(value: Any) -> list[Any]:
    """A list whatever the wrapping: a list, ``{"items": [...]}``, or nothing."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        return value["items"]
    return []


# -- shapers for the system views -----------------------------------------------------------------


def marketplace(answer: Any) -> dict[str, Any]:
    """The public Marketplace: in-person/virtual/blended classes and online offerings."""
    out: dict[str, Any] = {"classes": [], "online": [], "error": None}
    if not answer.ok:
        out["error"] = answer.message
        return out
    data = answer.data
    if isinstance(data, dict) and ("classOfferings" in data or "onlineOfferings" in data):
        out["classes"] = items_of(data.get("classOfferings"))
        out["online"] = items_of(data.get("onlineOfferings"))
        return out
    for item in items_of(data):
        if not isinstance(item, dict):
            continue
        kind = str(pick(item, "type", "kind", "offeringType", default="")).lower()
        if "online" in kind or (not item.get("events") and item.get("courseDuration") is not None):
            out["online"].append(item)
        else:
            out["classes"].append(item)
    return out


def first_event(offering: Any) -> dict[str, Any]:
    events = offering.get("events") if isinstance(offering, dict) else None
    if isinstance(events, list) and events:
        firsts = sorted((e for e in events if isinstance(e, dict)), key=lambda e: str(e.get("start", "")))
        return firsts[0] if firsts else {}
    return {}


def address_line(addr: Any) -> str:
    if not isinstance(addr, dict):
        return "" if _blank(addr) else str(addr)
    keys = ("street-address", "addressLine1", "locality", "city", "region", "postal-code", "zipCode")
    if isinstance(addr, dict) and addr.get("locality"):
        keys = ("locality", "region")
    return ", ".join(str(addr[k]) for k in keys if not _blank(addr.get(k)))


def tp_courses(providers: Any, classes: Any) -> list[dict[str, Any]]:
    """Courses (from the provider accounts) each with its classes, plus any class of an unlisted course."""
    courses: list[dict[str, Any]] = []
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for prov in providers:
        if not isinstance(prov, dict):
            continue
        for course in prov.get("courses") or []:
            if not isinstance(course, dict):
                continue
            ext = str(pick(course, "externalId", "externalCourseId", default=""))
            entry = {"username": prov.get("username"), "externalId": ext, "courseId": course.get("courseId"),
                     "name": course.get("name"), "classes": []}
            by_key[(str(prov.get("username")), ext)] = entry
            courses.append(entry)
    for cls in classes:
        if not isinstance(cls, dict):
            continue
        user = str(pick(cls, "username", "provider", default=""))
        ext = str(pick(cls, "courseExternalId", "externalCourseId", default=""))
        entry = by_key.get((user, ext)) or next((c for c in courses if c["externalId"] == ext), None)
        if entry is None:
            entry = {"username": user or None, "externalId": ext, "courseId": cls.get("courseId"),
                     "name": cls.get("courseName") or f"Course {ext}", "classes": []}
            by_key[(user, ext)] = entry
            courses.append(entry)
        entry["classes"].append(cls)
    for c in courses:
        c["classes"].sort(key=lambda k: (str(k.get("startDate", "")), str(k.get("externalId", ""))))
    return courses


def class_state(cls: Any) -> str:
    state = pick(cls, "state", "status")
    if state:
        return str(state)
    if isinstance(cls, dict) and cls.get("deleted"):
        return "deleted"
    if isinstance(cls, dict) and cls.get("cancelled"):
        return "cancelled"
    return "published"


def candidate(d: Any) -> dict[str, Any]:
    """A Learning Assistant candidate with its enrolment(s) and progress, in one flat shape for the card."""
    if not isinstance(d, dict):
        return {"uuid": None, "name": "", "enrolments": []}
    enrolments = []
    raw = d.get("enrolments") or d.get("Enrolments") or [d]
    for e in raw if isinstance(raw, list) else [raw]:
        if not isinstance(e, dict):
            continue
        progress = e.get("progress") or e.get("Progress") or d.get("progress") or {}
        units = []
        for u in (progress.get("Units") or progress.get("units") or e.get("units") or e.get("Units") or []):
            if not isinstance(u, dict):
                continue
            outcomes = [{"uuid": pick(o, "OutcomeUUID", "outcomeUUID", "uuid"),
                         "ref": pick(o, "Reference", "reference", default=""),
                         "title": pick(o, "Title", "title", default=""),
                         "met": bool(pick(o, "blnMet", "met", default=False)),
                         "dateMet": pick(o, "DateMet", "dateMet")}
                        for o in (u.get("Outcomes") or u.get("outcomes") or []) if isinstance(o, dict)]
            units.append({"uuid": pick(u, "UnitUUID", "unitUUID", "uuid"),
                          "ref": pick(u, "UnitReference", "unitReference", "reference", default=""),
                          "title": pick(u, "Title", "title", default=""),
                          "mandatory": pick(u, "blnMandatory", "mandatory"),
                          "percent": percent(pick(u, "PercentComplete", "percentComplete", default=0)),
                          "dateCompleted": pick(u, "DateCompleted", "dateCompleted"),
                          "outcomes": outcomes})
        enrolments.append({
            "courseUUID": pick(e, "CourseUUID", "courseUUID"),
            "course": pick(e, "CourseTitle", "courseTitle", "course.Title", "Title", "title", default=""),
            "qan": pick(e, "CourseQAN", "courseQAN", default=""),
            "start": pick(e, "StartDate", "startDate"),
            "end": pick(e, "PlannedEndDate", "AnticipatedEndDate", "plannedEndDate", "anticipatedEndDate"),
            "status": pick(progress, "Status", "status", default=pick(e, "Status", "status", default="")),
            "percent": percent(pick(progress, "PercentComplete", "percentComplete", default=0)),
            "target": percent(pick(progress, "TargetPercent", "targetPercent", default=0)),
            "units": units,
            "met": pick(progress, "outcomesMet"), "outcomes": pick(progress, "outcomesTotal"),
            "history": e.get("history") or [],
        })
    return {"uuid": pick(d, "CandidateUUID", "candidateUUID", "uuid"), "name": person(d),
            "uln": pick(d, "ULN", "uln", default=""), "email": pick(d, "EmailAddress", "email", default=""),
            "source": pick(d, "SourceSystemLearnerUUID", "sourceSystemLearnerUUID", default=""),
            "status": pick(d, "Status", "status", default=""), "test": bool(d.get("test")),
            "emails": d.get("emails") or [], "enrolments": enrolments}


def auto_progress(cp: Any) -> bool | None:
    """Whether the sandbox runs auto-progress, as the control plane reports it (None: not reported)."""
    answer = cp.get("learning-assistant/auto-progress")
    if answer.ok and isinstance(answer.data, dict) and isinstance(answer.data.get("enabled"), bool):
        return answer.data["enabled"]
    return None


def json_attr(value: Any) -> Markup:
    """A JSON value for a data-* attribute (escaped)."""
    return Markup(escape(json.dumps(value, ensure_ascii=False)))


def install(env: Environment) -> None:
    env.filters.update(when=when, day=day, short_day=short_day, relative=relative, offset=offset, masked=masked, pretty=pretty,
                       status_tone=status_tone, tone=tone, label=label, money=money, percent=percent,
                       safe_url=safe_url, person=person, initials=initials, clock_time=clock_time,
                       clock_date=clock_date, mask_secrets=mask_secrets, json_attr=json_attr, masked_link=masked_link,
                       address_line=address_line, class_state=class_state, flag_text=flag_text,
                       queue_text=queue_text)
    env.globals.update(date_range=date_range, pick=pick, first_event=first_event, items_of=items_of, parse_when=parse_when)
