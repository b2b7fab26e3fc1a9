"""The report schedule: ``params/schedule.yaml`` and ``simlib schedule run-due``.

Each job names a template, a parameter grid, a cron expression and an output
pattern. ``run_due`` renders every occurrence of every job that fell due since the
job's last successful run (at most ``catch_up`` of them), then records it. It is safe
to call as often as you like: from cron every few minutes or from a systemd timer
(examples in ``deploy/``). Concurrent calls are serialised by a lock file; a call that
finds the lock taken does nothing.

Grid values may use placeholders, resolved at the occurrence's time ``t`` (in the
schedule's time zone): ``{date}`` (t's date), ``{yesterday}``, ``{last_friday}``
(the last Friday before t), ``{month}``, ``{previous_month}``, ``{quarter}``,
``{previous_quarter}``, ``{year}``, ``{previous_year}``. Dates are capped at the last
day of the data, so a report never asks for days the data does not have yet.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from simlib.config import StrictModel, default_params_dir, load_model
from simlib.data import load_source
from simlib.reports.templates import ROOT, ReportError, absolute_paths, resolve, template_info

GridValue = str | int | float | bool | None | list[str | int | float | bool | None]


class Job(StrictModel):
    """One scheduled report job."""

    template: str
    cron: str
    grid: dict[str, GridValue] = Field(default_factory=dict)
    output: str | None = None  # pattern of the output path, e.g. "weekly/{week_ending}/{team}"
    description: str = ""
    enabled: bool = True
    deliver: bool = False  # send each person their documents once rendered (simlib deliver)
    #: Only the reps (``rep_id``) or teams (``team``) evaluated on this cycle
    #: (``params/scorecard.yaml``: default_cycle, team_cycles); None: everyone.
    cycle: Literal["monthly", "quarterly"] | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(v):
            raise ValueError(
                f"{v!r} is not a cron expression (minute hour day month weekday, "
                "e.g. '0 8 * * MON')"
            )
        return v

    @field_validator("template")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            resolve(v)
        except ReportError as e:
            raise ValueError(str(e)) from None
        return v


class ScheduleParams(StrictModel):
    """``params/schedule.yaml``."""

    timezone: str = "Asia/Shanghai"
    output: str = "reports/scheduled"  # root of scheduled output (relative: to the checkout)
    catch_up: int = Field(default=3, ge=1)  # at most this many missed occurrences per job
    workers: int | None = Field(default=None, ge=1)
    jobs: dict[str, Job]

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (e.g. Asia/Shanghai, UTC)") from None
        return v


def load_schedule(path: str | Path | None = None) -> ScheduleParams:
    path = Path(path) if path else default_params_dir() / "schedule.yaml"
    return load_model(path, ScheduleParams)


# --------------------------------------------------------------------------- placeholders
def placeholders(t: dt.datetime, data_end: dt.date | None = None) -> dict[str, str]:
    """The values of the grid placeholders at time ``t``."""
    d = t.date()

    def cap(x: dt.date) -> str:
        return (min(x, data_end) if data_end else x).isoformat()

    q = (d.month - 1) // 3 + 1
    pq_year, pq = (d.year, q - 1) if q > 1 else (d.year - 1, 4)
    first = d.replace(day=1)
    prev_month = first - dt.timedelta(days=1)
    last_friday = d - dt.timedelta(days=(d.weekday() - 4) % 7 or 7)
    return {
        "date": cap(d),
        "yesterday": cap(d - dt.timedelta(days=1)),
        "last_friday": cap(last_friday),
        "month": f"{d.year}-{d.month:02d}",
        "previous_month": f"{prev_month.year}-{prev_month.month:02d}",
        "quarter": f"{d.year}-Q{q}",
        "previous_quarter": f"{pq_year}-Q{pq}",
        "year": str(d.year),
        "previous_year": str(d.year - 1),
    }


def resolve_grid(
    grid: dict[str, Any], t: dt.datetime, data_end: dt.date | None = None, where: str = ""
) -> dict[str, Any]:
    values = placeholders(t, data_end)

    def one(v):
        if not isinstance(v, str) or "{" not in v:
            return v
        try:
            return v.format(**values)
        except (KeyError, IndexError, ValueError) as e:
            raise ReportError(
                f"{where}: unknown placeholder {e} in {v!r}; known: "
                + ", ".join("{" + k + "}" for k in values)
            ) from None

    return {k: [one(x) for x in v] if isinstance(v, list) else one(v) for k, v in grid.items()}


# --------------------------------------------------------------------------- state
@dataclass
class JobState:
    last_success: str | None = None  # the occurrence (cron time) last rendered in full
    last_attempt: str | None = None  # wall-clock time of the last attempt
    last_status: str | None = None
    last_run_id: str | None = None
    failed: list[str] | None = None


STATE_VERSION = 1
_JOB_FIELDS = {f for f in JobState.__dataclass_fields__}


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


class State:
    """Per-job progress in ``<output>/.schedule-state.json`` (written atomically).

    The file carries a schema ``version``. A damaged file (cut short by a full disk, a
    folder in its place, edited by hand) never stops the schedule: with ``repair`` it is
    moved aside as ``.schedule-state.json.damaged-<time>`` and every job counts as never
    run (so each renders its latest occurrence, within ``catch_up``); without, it is only
    read as empty. Either way the reader is told on stderr.
    """

    def __init__(self, path: Path, *, repair: bool = False, warn: Callable[[str], None] = _warn):
        self.path = path
        self.jobs: dict[str, JobState] = {}
        self.damaged: Path | None = None
        try:
            self.jobs = self._read(path)
        except _Damaged as e:
            if not repair:
                warn(
                    f"schedule state {path} is damaged ({e}); "
                    "read as empty until run-due repairs it"
                )
                return
            stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            aside = path.with_name(f"{path.name}.damaged-{stamp}")
            try:
                os.replace(path, aside)
            except OSError as err:
                raise ReportError(
                    f"schedule state {path} is damaged ({e}) and cannot be moved aside "
                    f"({err.strerror or err}); move or delete it"
                ) from None
            self.damaged = aside
            warn(
                f"schedule state {path} was damaged ({e}); moved it to {aside.name} and "
                "counted every job as never run (each renders its latest occurrence)"
            )

    @staticmethod
    def _read(path: Path) -> dict[str, JobState]:
        if not path.exists() and not path.is_symlink():
            return {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except IsADirectoryError:
            raise _Damaged("it is a folder") from None
        except UnicodeDecodeError:
            raise _Damaged("not text") from None
        except json.JSONDecodeError as e:
            raise _Damaged(f"not valid JSON: {e.msg} at line {e.lineno}") from None
        except OSError as e:
            raise ReportError(
                f"schedule state {path}: cannot read it ({e.strerror or e})"
            ) from None
        if not isinstance(raw, dict) or not isinstance(raw.get("jobs", {}), dict):
            raise _Damaged("not a schedule state")
        version = raw.get("version", 0)
        if not isinstance(version, int) or version < 0:
            raise _Damaged(f"unknown version {version!r}")
        if version > STATE_VERSION:
            raise ReportError(
                f"schedule state {path} has version {version}, written by a newer simlib "
                f"(this one reads up to {STATE_VERSION}); upgrade simlib"
            )
        jobs = {}
        for name, v in raw.get("jobs", {}).items():
            if not isinstance(v, dict) or not set(v) <= _JOB_FIELDS:
                raise _Damaged(f"job {name!r} is not a job state")
            st = JobState(**v)
            for key in ("last_success", "last_attempt"):
                value = getattr(st, key)
                if value is None:
                    continue
                try:
                    t = dt.datetime.fromisoformat(value)
                except (TypeError, ValueError):
                    raise _Damaged(f"job {name!r}: {key} {value!r} is not a time") from None
                if t.tzinfo is None:
                    raise _Damaged(f"job {name!r}: {key} {value!r} has no time zone")
            jobs[name] = st
        return jobs

    def job(self, name: str) -> JobState:
        return self.jobs.setdefault(name, JobState())

    def save(self) -> None:
        """Write the state whole or not at all (temporary file, fsync, rename)."""
        text = json.dumps(
            {"version": STATE_VERSION, "jobs": {k: vars(v) for k, v in self.jobs.items()}},
            indent=1,
            ensure_ascii=False,
        )
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise ReportError(
                f"cannot record the schedule state in {self.path} ({e.strerror or e}); "
                "the reports are rendered, but the next run-due will render them again"
            ) from None


class _Damaged(Exception):
    """The state file cannot be read as a schedule state."""


def _root(s: ScheduleParams, out: str | Path | None) -> Path:
    p = Path(out) if out else Path(s.output)
    return p if p.is_absolute() else (ROOT / p if not out else Path.cwd() / p)


def occurrences(
    job: Job, since: dt.datetime | None, now: dt.datetime, limit: int
) -> list[dt.datetime]:
    """Cron times in (since, now], at most the last ``limit``; without ``since``, the last one."""
    from croniter import croniter

    it = croniter(job.cron, now)
    out = []
    while len(out) < (limit if since else 1):
        try:
            t = it.get_prev(dt.datetime)
        except (OverflowError, ValueError):  # before year 1
            break
        if since is not None and t <= since:
            break
        out.append(t)
    return sorted(out)


def next_occurrence(job: Job, now: dt.datetime) -> dt.datetime | None:
    """The job's next cron time after ``now`` (None past the year 9999)."""
    from croniter import croniter

    try:
        return croniter(job.cron, now).get_next(dt.datetime)
    except (OverflowError, ValueError):
        return None


#: How far ``--now`` may be from the clock without ``--force``.
NOW_TOLERANCE = dt.timedelta(days=1)


def check_now(now: dt.datetime | None, timezone: str, *, force: bool = False) -> None:
    """A ReportError when ``now`` is far from the clock and not ``force``d: run-due
    records what it renders at that time, and a time in the future stops the job until
    the clock gets there."""
    if now is None or force:
        return
    tz = ZoneInfo(timezone)
    t = now.replace(tzinfo=tz) if now.tzinfo is None else now
    clock = dt.datetime.now(dt.timezone.utc)
    if abs(t - clock) > NOW_TOLERANCE:
        days = (t - clock).total_seconds() / 86400
        when = f"{abs(days):.0f} days {'ahead of' if days > 0 else 'behind'}"
        raise ReportError(
            f"--now {now.isoformat()} is {when} the clock; run-due would record its runs "
            "at that time in the schedule state"
            + (" and never run them again until then" if days > 0 else "")
            + ". Use --dry-run to see what would be due, or --force if you mean it"
        )


def _since(
    st: JobState, now: dt.datetime, real_clock: bool
) -> tuple[dt.datetime | None, str | None]:
    """(the job's last success, a note) as run-due uses them: a last success in the
    future of the real clock (a run with --now) is ignored, or the job never ran again."""
    since = dt.datetime.fromisoformat(st.last_success) if st.last_success else None
    if since is not None and real_clock and since > now + NOW_TOLERANCE:
        return None, (
            f"its last success {since:%Y-%m-%d %H:%M} is in the future (a run with --now?); ignored"
        )
    return since, None


def _now(s: ScheduleParams, now: dt.datetime | None) -> dt.datetime:
    tz = ZoneInfo(s.timezone)
    if now is None:
        return dt.datetime.now(tz)
    return now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)


def _on_cycle(params: dict, cycle: str | None, data) -> bool:
    """Whether a job's item is for a rep or team evaluated on ``cycle``."""
    if cycle is None:
        return True
    from simlib.scorecard import cycle_of

    team = params.get("team")
    if team is None and params.get("rep_id") is not None:
        team = data.reps.set_index("rep_id")["team_id"].get(params["rep_id"])
    return team is None or cycle_of(str(team)) == cycle


def _data_end(source: str = "", mapping: str = "") -> dt.date:
    """The last day of the data a job reads (placeholders' dates are capped at it)."""
    import pandas as pd

    return pd.Timestamp(load_source(source, mapping).as_of).date()


@dataclass
class DueRun:
    job: str
    occurrence: dt.datetime
    status: str  # "ok" | "failed" | "would run"
    reports: int = 0
    failed: list[str] | None = None
    run_id: str | None = None
    delivery: Any = None  # what the delivery hook returned (jobs with ``deliver: true``)


class _Lock:
    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def __enter__(self) -> bool:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR)
        except OSError as e:
            raise ReportError(
                f"schedule output {self.path.parent}: cannot write the lock file "
                f"{self.path.name} ({e.strerror or e})"
            ) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def run_due(
    schedule: ScheduleParams | str | Path | None = None,
    *,
    now: dt.datetime | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    progress: bool = True,
    client=None,
    say: Callable[[str], None] = print,
    pdf: bool = True,
    deliver: Callable[[Path, str, list[str]], Any] | None = None,
) -> list[DueRun]:
    """Render every due occurrence of every enabled job; returns what was done.

    ``deliver(root, run_id, names)`` is called after rendering with the documents
    rendered for jobs that say ``deliver: true`` (``simlib.delivery.schedule_hook``);
    without it, run-due says how to deliver them.

    Everything due is rendered in one pool (one warm kernel per worker). A job's
    ``last_success`` moves to its latest occurrence whose reports all rendered, with
    no failed occurrence before it; a failed occurrence stays due for the next call.
    """
    # papermill and nbconvert load here, when something is due, not when the
    # schedule file is validated (simlib params check, simlib schedule list).
    from simlib.reports.batch import Item, expand_grid, run_items
    from simlib.reports.render import output_name

    s = schedule if isinstance(schedule, ScheduleParams) else load_schedule(schedule)
    real_clock = now is None
    now = _now(s, now)
    root = _root(s, out)
    with _Lock(root / ".schedule.lock") as got:
        if not got:
            say(f"another 'schedule run-due' is running on {root}; nothing done")
            return []
        state = State(root / ".schedule-state.json", repair=not dry_run)
        planned: list[tuple[str, dt.datetime, list[str]]] = []
        items: dict[str, Item] = {}  # by output name: a later occurrence replaces an earlier one
        for name, job in s.jobs.items():
            if not job.enabled:
                continue
            st = state.job(name)
            since, note = _since(st, now, real_clock)
            if note:
                _warn(f"schedule job {name}: {note}")
            t_info = template_info(job.template)
            # Relative data paths in the schedule are the checkout's, as its output is.
            data = absolute_paths(
                {k: job.grid.get(k) for k in ("source", "mapping") if job.grid.get(k)}, ROOT
            )
            data_end = _data_end(str(data.get("source") or ""), str(data.get("mapping") or ""))
            for t in occurrences(job, since, now, s.catch_up):
                grid = resolve_grid(job.grid, t, data_end, where=f"schedule job {name}")
                names = []
                for p in expand_grid(t_info, grid):
                    if job.cycle and not _on_cycle(
                        p,
                        job.cycle,
                        load_source(str(data.get("source") or ""), str(data.get("mapping") or "")),
                    ):
                        continue  # evaluated on the other cycle: its own job renders it
                    n = output_name(t_info, p, job.output)
                    items[n] = Item(
                        str(t_info.path), absolute_paths(p, ROOT), n, str(root), str(ROOT)
                    )
                    names.append(n)
                planned.append((name, t, names))
        if dry_run:
            return [DueRun(j, t, "would run", len(ns)) for j, t, ns in planned]
        if not planned:
            return []
        batch = run_items(
            list(items.values()),
            root,
            workers=workers or s.workers,
            client=client,
            progress=progress,
            pdf=pdf,
            desc="scheduled reports",
            run={
                "job": "schedule run-due",
                "occurrences": [(j, t.isoformat()) for j, t, _ in planned],
            },
        )
        result = {r.name: r for r in batch.results}
        done: list[DueRun] = []
        blocked: set[str] = set()
        for name, t, names in planned:
            failed = [n for n in names if n not in result or not result[n].ok]
            st = state.job(name)
            st.last_attempt = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            st.last_run_id = batch.run_id
            if failed:
                blocked.add(name)
                st.last_status, st.failed = f"{len(failed)} of {len(names)} failed", failed
            elif name not in blocked:
                st.last_success, st.last_status, st.failed = t.isoformat(), "ok", None
            done.append(
                DueRun(
                    name, t, "failed" if failed else "ok", len(names), failed or None, batch.run_id
                )
            )
            say(
                f"{name} @ {t:%Y-%m-%d %H:%M}: {len(names) - len(failed)} of {len(names)} rendered"
                + (f"; failed: {', '.join(failed)}" if failed else "")
            )
        say(batch.summary())
        if batch.manifest_error:
            say(batch.manifest_error)
        state.save()
    to_deliver = [
        n
        for d in done
        if s.jobs[d.job].deliver
        for n in next(ns for j, t, ns in planned if j == d.job and t == d.occurrence)
        if n in result and result[n].ok
    ]
    if to_deliver:
        jobs = sorted({d.job for d in done if s.jobs[d.job].deliver})
        if deliver is None:
            say(
                f"{', '.join(jobs)}: deliver with: simlib deliver --from {root} "
                f"--run {batch.run_id}"
            )
        else:
            result_of_delivery = deliver(root, batch.run_id, sorted(set(to_deliver)))
            for d in done:
                if d.job in jobs:
                    d.delivery = result_of_delivery
    return done


def job_table(
    schedule: ScheduleParams | str | Path | None = None,
    *,
    now: dt.datetime | None = None,
    out: str | Path | None = None,
):
    """Jobs with their template, cron, last run and next run (a DataFrame)."""
    import pandas as pd

    s = schedule if isinstance(schedule, ScheduleParams) else load_schedule(schedule)
    real_clock = now is None
    now = _now(s, now)
    state = State(_root(s, out) / ".schedule-state.json")
    rows = []
    for name, job in s.jobs.items():
        st = state.jobs.get(name, JobState())
        nxt = next_occurrence(job, now)
        recorded = dt.datetime.fromisoformat(st.last_success) if st.last_success else None
        since, note = _since(st, now, real_clock)
        status = st.last_status or "-"
        if note:
            status += "; last success in the future: run-due ignores it"
        elif recorded is not None and recorded > now:
            status += "; last success after --now"
        rows.append(
            {
                "job": name,
                "template": job.template,
                "cron": job.cron,
                "enabled": job.enabled,
                "last_success": recorded.strftime("%Y-%m-%d %H:%M") if recorded else "never",
                "last_status": status,
                "due_now": len(occurrences(job, since, now, s.catch_up)) if job.enabled else 0,
                "next_run": nxt.strftime("%Y-%m-%d %H:%M %Z") if nxt else "-",
            }
        )
    return pd.DataFrame(rows)
