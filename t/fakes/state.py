"""The simulated inside of one HydraFlow repo process (no networking).

A `RepoState` holds what a per-repo dashboard would show: ~30 issues spread
over the pipeline stages, lifetime counters, sessions, background workers,
HITL items, PRs, and the event bus (history capped at 5000, ids from a
per-process counter).  `tick()` moves the simulation one step and publishes
the events HydraFlow would publish.  Shapes follow
/work/shared/docs/hydraflow-api.md (section 1.2, 2 and 3).

Everything here runs on the fakes' event loop thread; nothing is locked.
"""

import collections
import datetime
import random
import zlib


UTC = datetime.timezone.utc

# Every fake process starts its event ids at the same value, as separate
# HydraFlow processes do: ids clash across repos (contract, section 2).
FIRST_EVENT_ID = 1
MAX_HISTORY = 5000
SUBSCRIBER_QUEUE = 500

STAGES = ("triage", "plan", "implement", "review", "hitl")
BACKEND = {"triage": "find", "plan": "plan", "implement": "ready",
           "review": "review", "hitl": "hitl"}
BACKEND_STAGES = ("find", "plan", "ready", "review", "hitl")

APP_VERSION = "0.9.3"

WORKER_DEFS = (
    ("triage", "Triage",
     "Classifies freshly discovered issues and routes them into the "
     "pipeline."),
    ("plan", "Plan",
     "Builds implementation plans for triaged issues that are ready to "
     "execute."),
    ("implement", "Implement",
     "Runs coding agents to implement planned issues and open pull "
     "requests."),
    ("review", "Review",
     "Reviews PRs, applies fixes, and merges approved work when checks "
     "pass."),
    ("memory_sync", "Memory Manager",
     "Ingests memory and transcript issues into durable learnings and "
     "proposals."),
    ("retrospective", "Retrospective",
     "Captures post-merge outcomes and identifies recurring delivery "
     "patterns."),
    ("metrics", "Metrics",
     "Refreshes operational metrics and dashboards from state and GitHub "
     "data."),
    ("review_insights", "Review Insights",
     "Aggregates recurring review feedback into improvement "
     "opportunities."),
    ("pipeline_poller", "Pipeline Poller",
     "Refreshes live pipeline snapshots for dashboard queue/status "
     "rendering."),
    ("pr_unsticker", "PR Unsticker",
     "Requeues stalled HITL PRs by validating requirements and reopening "
     "flow."),
    ("report_issue", "Report Issue",
     "Files bug reports submitted from the dashboard."),
    ("adr_reviewer", "ADR Reviewer",
     "Reviews architecture decision records opened by the agents."),
)
PIPELINE_WORKERS = ("triage", "plan", "implement", "review")
INTERVAL_WORKERS = {"memory_sync": 3600, "metrics": 300,
                    "pr_unsticker": 3600, "pipeline_poller": 5,
                    "adr_reviewer": 86400}
INTERVAL_BOUNDS = {"memory_sync": (10, 14400), "metrics": (30, 14400),
                   "pr_unsticker": (60, 86400),
                   "pipeline_poller": (5, 14400),
                   "adr_reviewer": (28800, 432000)}

# PATCH /api/control/config: the mutable fields of the real dashboard and
# the bounds of their HydraFlowConfig fields.
MUTABLE_INT = {
    "max_workers": (1, 10), "max_planners": (1, 10),
    "max_reviewers": (1, 10), "max_hitl_workers": (1, 5),
    "batch_size": (1, 50), "max_ci_fix_attempts": (0, 5),
    "max_quality_fix_attempts": (0, 5), "max_review_fix_attempts": (0, 5),
    "min_review_findings": (0, 20),
    "max_merge_conflict_fix_attempts": (0, 5),
    "ci_check_timeout": (30, 3600), "ci_poll_interval": (5, 120),
    "poll_interval": (5, 300), "pr_unstick_interval": (60, 86400),
    "pr_unstick_batch_size": (1, 50),
}
MUTABLE_STR = ("model", "review_model", "planner_model")
MUTABLE_BOOL = ("memory_auto_approve", "unstick_auto_merge",
                "unstick_all_causes")

VERBS = ("Add", "Fix", "Refactor", "Document", "Speed up", "Remove",
         "Harden", "Migrate", "Test", "Simplify", "Cache", "Validate")
NOUNS = ("login flow", "retry logic", "rate limiter", "CSV export",
         "webhook handler", "search index", "billing job", "config loader",
         "audit log", "session store", "image resizer", "feature flags",
         "email templates", "API pagination", "dark mode", "CI cache",
         "error pages", "health checks", "queue consumer", "metrics panel")
CAUSES = ("CI failed after 2 fix attempts", "Review escalation",
          "Merge conflict could not be resolved", "Plan needs a human call",
          "Tests flaky on main")
QUESTIONS = ("Should the new endpoint be versioned?",
             "Which database should the cache use?",
             "Is it fine to drop Python 3.9 support?")


def iso(dt):
    return dt.astimezone(UTC).isoformat()


def now():
    return datetime.datetime.now(UTC)


def parse_iso(raw):
    if not raw:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class ValidationFailed(Exception):
    """A pydantic-style validation error: `message` is HydraFlow's text."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class RepoState:
    """One repo's HydraFlow state, generated from the repo name."""

    def __init__(self, repo, *, seed=None, issues=30, history=60,
                 running=True, orchestrator=True, sessions=3,
                 worktree_base=None):
        self.repo = repo                       # owner/name
        self.key = repo.replace("/", "-")      # owner-name
        if seed is None:
            seed = zlib.crc32(repo.encode())
        self.rng = random.Random(seed)
        self.started = now()
        self.next_event_id = FIRST_EVENT_ID
        self.history = collections.deque(maxlen=MAX_HISTORY)
        self.subscribers = set()
        self.has_orchestrator = orchestrator or running
        self.run_status = "running" if running else "idle"
        self.credits_paused_until = None
        self.ticks = 0
        name = repo.split("/")[-1]
        self.config = {
            "app_version": APP_VERSION,
            "latest_version": "",
            "update_available": False,
            "repo": repo,
            "ready_label": ["hydraflow-ready"],
            "find_label": ["hydraflow-find"],
            "planner_label": ["hydraflow-plan"],
            "review_label": ["hydraflow-review"],
            "hitl_label": ["hydraflow-hitl"],
            "hitl_active_label": ["hydraflow-hitl-active"],
            "fixed_label": ["hydraflow-fixed"],
            "improve_label": ["hydraflow-improve"],
            "memory_label": ["hydraflow-memory"],
            "transcript_label": ["hydraflow-transcript"],
            "max_triagers": 1,
            "max_workers": 2,
            "max_planners": 1,
            "max_reviewers": 1,
            "max_hitl_workers": 1,
            "batch_size": 15,
            "model": "sonnet",
            "memory_auto_approve": False,
            "pr_unstick_batch_size": 10,
            "worktree_base": worktree_base
            or "/home/dev/src/%s/.hydraflow/worktrees" % name,
        }
        # Mutable but not shown in /api/control/status.
        self.hidden_config = {
            "review_model": "sonnet", "planner_model": "opus",
            "max_ci_fix_attempts": 2, "max_quality_fix_attempts": 2,
            "max_review_fix_attempts": 2, "min_review_findings": 3,
            "max_merge_conflict_fix_attempts": 3, "ci_check_timeout": 600,
            "ci_poll_interval": 30, "poll_interval": 30,
            "pr_unstick_interval": 3600, "unstick_auto_merge": True,
            "unstick_all_causes": False,
        }
        self.worker_enabled = {w[0]: True for w in WORKER_DEFS}
        self.worker_interval = dict(INTERVAL_WORKERS)
        self.worker_last = {}
        self._init_numbers()
        self._init_issues(issues)
        self._init_lifetime()
        self._init_sessions(sessions)
        self.human_input = {}
        if self.issues:
            some = self.rng.choice(list(self.issues))
            self.human_input[str(some)] = self.rng.choice(QUESTIONS)
        self._init_history(history)

    # ------------------------------------------------------------------
    # generation

    def _init_numbers(self):
        self.next_issue = 100 + self.rng.randrange(0, 400)
        self.next_pr = self.next_issue + 500 + self.rng.randrange(0, 100)

    def _new_issue(self, stage, *, epic=0, title=None, at=None):
        number = self.next_issue
        self.next_issue += 1
        title = title or "%s %s" % (self.rng.choice(VERBS),
                                    self.rng.choice(NOUNS))
        issue = {
            "issue_number": number,
            "title": title,
            "url": "https://github.com/%s/issues/%d" % (self.repo, number),
            "stage": stage,
            "epic_number": epic,
            "is_epic_child": bool(epic),
            "pr": None,
            "branch": "agent/issue-%d" % number,
            "since": iso(at or now()),
            "created": iso(at or now()),
            "cause": None,
            "processing": False,
        }
        if stage in ("review", "hitl") or (stage == "implement"
                                            and self.rng.random() < 0.3):
            self._open_pr(issue)
        if stage == "hitl":
            issue["cause"] = self.rng.choice(CAUSES)
        self.issues[number] = issue
        return issue

    def _open_pr(self, issue):
        if issue["pr"] is None:
            issue["pr"] = self.next_pr
            self.next_pr += 1
            issue["draft"] = self.rng.random() < 0.2

    def _init_issues(self, count):
        self.issues = {}
        self.epics = {}
        # One or two epics; their children are normal issues.
        for _ in range(1 + self.rng.randrange(0, 2)):
            number = self.next_issue
            self.next_issue += 1
            self.epics[number] = {
                "epic_number": number,
                "title": "Epic: %s" % self.rng.choice(NOUNS),
                "url": "https://github.com/%s/issues/%d" % (self.repo,
                                                            number),
                "created_at": iso(self.started
                                  - datetime.timedelta(days=3)),
                "merged": 0,
            }
        weights = (("triage", 8), ("plan", 7), ("implement", 7),
                   ("review", 5), ("hitl", 3))
        stages = []
        for stage, n in weights:
            stages.extend([stage] * n)
        while len(stages) < count:
            stages.append(self.rng.choice(STAGES[:4]))
        stages = stages[:count]
        base = self.started - datetime.timedelta(hours=6)
        for i, stage in enumerate(stages):
            epic = 0
            if self.epics and self.rng.random() < 0.25:
                epic = self.rng.choice(list(self.epics))
            self._new_issue(stage, epic=epic,
                            at=base + datetime.timedelta(minutes=7 * i))

    def _init_lifetime(self):
        r = self.rng
        completed = 20 + r.randrange(0, 100)
        merged = completed - r.randrange(0, max(1, completed // 8))
        approvals = merged - r.randrange(0, max(1, merged // 5))
        self.lifetime = {
            "issues_completed": completed,
            "prs_merged": merged,
            "issues_created": completed + len(self.issues),
            "total_quality_fix_rounds": r.randrange(0, completed),
            "total_ci_fix_rounds": r.randrange(0, completed),
            "total_hitl_escalations": r.randrange(1, 1 + completed // 4),
            "total_review_request_changes": r.randrange(0, 1 + merged // 3),
            "total_review_approvals": approvals,
            "total_reviewer_fixes": r.randrange(0, 1 + merged // 4),
            "total_implementation_seconds": round(
                completed * r.uniform(600, 2400), 1),
            "total_review_seconds": round(merged * r.uniform(120, 900), 1),
            "total_outcomes_merged": merged,
            "total_outcomes_already_satisfied": r.randrange(0, 4),
            "total_outcomes_hitl_closed": r.randrange(0, 4),
            "total_outcomes_hitl_skipped": r.randrange(0, 4),
            "total_outcomes_failed": r.randrange(0, 4),
            "total_outcomes_manual_close": r.randrange(0, 3),
            "total_outcomes_hitl_approved": r.randrange(0, 3),
            "merge_durations": [round(r.uniform(1800, 14400), 1)
                                for _ in range(min(merged, 40))],
            "retries_per_stage": {},
            "fired_thresholds": [],
        }
        for number in list(self.issues)[:3]:
            self.lifetime["retries_per_stage"][str(number)] = {
                "implement": r.randrange(1, 3)}
        self.completed_session = {s: 0 for s in STAGES + ("merged",)}
        self.completed_lifetime = {
            "triage": completed + 20, "plan": completed + 12,
            "implement": completed + 6, "review": completed + 2,
            "hitl": self.lifetime["total_hitl_escalations"],
            "merged": merged,
        }
        self.github_closed = completed + r.randrange(0, 30)
        self.inference_lifetime = {
            "inference_calls": completed * 14 + r.randrange(0, 100),
            "total_tokens": completed * 41000 + r.randrange(0, 10000),
        }
        self.inference_session = {"inference_calls": 0, "total_tokens": 0}
        self.metric_snapshots = []
        for h in range(10, 0, -1):
            at = self.started - datetime.timedelta(hours=h)
            self.metric_snapshots.append(self._metrics_snapshot(at, -h))

    def _init_sessions(self, count):
        self.sessions = collections.OrderedDict()
        start = self.started - datetime.timedelta(days=count + 1)
        for i in range(count):
            at = start + datetime.timedelta(days=i, hours=i)
            sid = self._session_id(at)
            done = self.rng.sample(list(self.issues), 3)
            self.sessions[sid] = {
                "id": sid, "repo": self.repo, "started_at": iso(at),
                "ended_at": iso(at + datetime.timedelta(hours=2)),
                "issues_processed": sorted(done),
                "issues_succeeded": 2, "issues_failed": 1,
                "status": "completed",
            }
        self.current_session = None
        if self.run_status == "running":
            at = self.started - datetime.timedelta(minutes=30)
            self._begin_session(at, publish=False)

    def _session_id(self, at):
        return "%s-%s" % (self.key, at.astimezone(UTC).strftime(
            "%Y%m%dT%H%M%S"))

    def _begin_session(self, at=None, publish=True):
        at = at or now()
        sid = self._session_id(at)
        while sid in self.sessions:
            at += datetime.timedelta(seconds=1)
            sid = self._session_id(at)
        self.sessions[sid] = {
            "id": sid, "repo": self.repo, "started_at": iso(at),
            "ended_at": None, "issues_processed": [],
            "issues_succeeded": 0, "issues_failed": 0, "status": "active",
        }
        self.current_session = sid
        if publish:
            self.publish("session_start", {"session_id": sid,
                                           "repo": self.repo})
        return sid

    def _end_session(self):
        sid = self.current_session
        if sid is None:
            return
        s = self.sessions[sid]
        s["ended_at"] = iso(now())
        s["status"] = "completed"
        self.publish("session_end", {
            "session_id": sid, "status": "completed",
            "issues_processed": list(s["issues_processed"]),
            "issues_succeeded": s["issues_succeeded"],
            "issues_failed": s["issues_failed"]})
        self.current_session = None

    def _init_history(self, count):
        """Pre-fill the bus as HydraFlow does from events.jsonl."""
        if count <= 0:
            return
        t0 = self.started - datetime.timedelta(seconds=count * 10 + 60)
        if self.current_session:
            s = self.sessions[self.current_session]
            self.publish("session_start", {"session_id": s["id"],
                                           "repo": self.repo},
                         at=t0, session_id=None)
            self.publish("orchestrator_status", {"status": "running",
                                                 "reset": True},
                         at=t0 + datetime.timedelta(seconds=1))
        i = len(self.history)
        while len(self.history) < count:
            at = t0 + datetime.timedelta(seconds=10 * i + 2)
            self._random_event(at)
            i += 1

    # ------------------------------------------------------------------
    # event bus

    def publish(self, type_, data, *, at=None, session_id=False):
        if session_id is False:
            session_id = self.current_session
        event = {
            "id": self.next_event_id,
            "type": type_,
            "timestamp": iso(at or now()),
            "data": data,
            "session_id": session_id,
        }
        self.next_event_id += 1
        self.history.append(event)
        for queue in list(self.subscribers):
            if queue.full():
                try:
                    queue.get_nowait()
                except Exception:
                    pass
            queue.put_nowait(event)
        return event

    def events_since(self, since):
        since_dt = parse_iso(since) if since is not None else None
        if since_dt is None:
            return list(self.history)
        out = []
        for e in self.history:
            ts = parse_iso(e["timestamp"])
            if ts is not None and ts >= since_dt:
                out.append(e)
        return out[-MAX_HISTORY:]

    # ------------------------------------------------------------------
    # simulation

    def _by_stage(self, stage):
        return sorted((i for i in self.issues.values()
                       if i["stage"] == stage),
                      key=lambda i: (i["since"], i["issue_number"]))

    def _cap(self, stage):
        c = self.config
        return {"triage": c["max_triagers"], "plan": c["max_planners"],
                "implement": c["max_workers"],
                "review": c["max_reviewers"],
                "hitl": c["max_hitl_workers"]}[stage]

    def _issue_status(self, issue, index):
        if issue["stage"] == "hitl":
            return "processing" if issue["processing"] else "hitl"
        if self.run_status != "running":
            return "queued"
        return "active" if index < self._cap(issue["stage"]) else "queued"

    def _move(self, issue, stage, at):
        old = issue["stage"]
        issue["stage"] = stage
        issue["since"] = iso(at)
        self.completed_session[old] += 1
        self.completed_lifetime[old] += 1
        if self.current_session:
            s = self.sessions[self.current_session]
            if issue["issue_number"] not in s["issues_processed"]:
                s["issues_processed"].append(issue["issue_number"])

    def _advance_issue(self, at):
        candidates = [i for i in self.issues.values()
                      if i["stage"] in PIPELINE_WORKERS]
        if not candidates:
            return
        issue = self.rng.choice(candidates)
        n = issue["issue_number"]
        worker = self.rng.randrange(0, 2)
        stage = issue["stage"]
        if stage == "triage":
            self.publish("triage_update", {"issue": n, "worker": worker,
                                           "status": "done",
                                           "role": "triage"}, at=at)
            self._move(issue, "plan", at)
            self.publish("planner_update", {"issue": n, "worker": worker,
                                            "status": "planning",
                                            "role": "planner"}, at=at)
        elif stage == "plan":
            self.publish("planner_update", {"issue": n, "worker": worker,
                                            "status": "done",
                                            "role": "planner"}, at=at)
            self._move(issue, "implement", at)
            self.publish("worker_update", {"issue": n, "worker": worker,
                                           "status": "running",
                                           "role": "implementer"}, at=at)
        elif stage == "implement":
            self.publish("worker_update", {"issue": n, "worker": worker,
                                           "status": "done",
                                           "role": "implementer"}, at=at)
            self._open_pr(issue)
            self.publish("pr_created", {
                "pr": issue["pr"], "issue": n, "branch": issue["branch"],
                "draft": issue.get("draft", False),
                "url": "https://github.com/%s/pull/%d" % (self.repo,
                                                          issue["pr"])},
                at=at)
            self._move(issue, "review", at)
            self.publish("review_update", {
                "pr": issue["pr"], "issue": n, "worker": worker,
                "status": "reviewing", "verdict": None, "duration": None},
                at=at)
        else:
            duration = round(self.rng.uniform(60, 900), 1)
            self.publish("review_update", {
                "pr": issue["pr"], "issue": n, "worker": worker,
                "status": "done", "verdict": "approve",
                "duration": duration}, at=at)
            self.publish("merge_update", {"pr": issue["pr"],
                                          "status": "merged"}, at=at)
            self._move(issue, "merged", at)
            self.completed_session["merged"] += 1
            self.completed_lifetime["merged"] += 1
            del self.issues[n]
            lt = self.lifetime
            lt["issues_completed"] += 1
            lt["prs_merged"] += 1
            lt["total_outcomes_merged"] += 1
            lt["total_review_approvals"] += 1
            lt["total_implementation_seconds"] = round(
                lt["total_implementation_seconds"]
                + self.rng.uniform(600, 2400), 1)
            lt["total_review_seconds"] = round(
                lt["total_review_seconds"] + duration, 1)
            lt["merge_durations"].append(round(
                self.rng.uniform(1800, 14400), 1))
            self.github_closed += 1
            if issue["epic_number"] in self.epics:
                self.epics[issue["epic_number"]]["merged"] += 1
            if self.current_session:
                self.sessions[self.current_session]["issues_succeeded"] += 1
            new = self._new_issue("triage", at=at)
            lt["issues_created"] += 1
            self.publish("issue_created", {
                "issue": new["issue_number"], "title": new["title"],
                "url": new["url"], "labels": ["hydraflow-find"]}, at=at)

    def _escalate(self, at):
        candidates = [i for i in self.issues.values()
                      if i["stage"] in ("implement", "review")]
        if not candidates:
            return
        issue = self.rng.choice(candidates)
        issue["cause"] = self.rng.choice(CAUSES)
        self._open_pr(issue)
        self._move(issue, "hitl", at)
        self.lifetime["total_hitl_escalations"] += 1
        self.publish("hitl_escalation", {
            "issue": issue["issue_number"], "cause": issue["cause"],
            "origin": "hydraflow-review", "pr": issue["pr"]}, at=at)

    def _resolve_hitl(self, at):
        candidates = self._by_stage("hitl")
        if not candidates:
            return
        issue = candidates[0]
        issue["cause"] = None
        issue["processing"] = False
        self._move(issue, "implement", at)
        self.publish("hitl_update", {"issue": issue["issue_number"],
                                     "status": "resolved",
                                     "action": "correct"}, at=at)

    def _random_event(self, at):
        r = self.rng.random()
        if r < 0.30:
            self._advance_issue(at)
        elif r < 0.38:
            self._escalate(at)
        elif r < 0.44:
            self._resolve_hitl(at)
        elif r < 0.80:
            active = [i for i in self.issues.values()
                      if i["stage"] in PIPELINE_WORKERS]
            if active:
                issue = self.rng.choice(active)
                self.publish("transcript_line", {
                    "issue": issue["issue_number"],
                    "line": "agent: %s (%s)" % (
                        self.rng.choice(("reading", "editing", "testing",
                                         "committing")),
                        issue["title"]),
                    "source": issue["stage"]}, at=at)
        elif r < 0.90:
            name = self.rng.choice(WORKER_DEFS)[0]
            self.worker_last[name] = iso(at)
            self.publish("background_worker_status", {
                "worker": name, "status": "ok", "last_run": iso(at),
                "details": {}}, at=at)
        else:
            self.publish("queue_update", self.queue_stats(at), at=at)

    def tick(self):
        """One step of the simulation (cards move, events flow)."""
        self.ticks += 1
        at = now()
        if self.run_status == "running":
            for _ in range(1 + self.rng.randrange(0, 2)):
                self._random_event(at)
            if self.ticks % 5 == 0:
                self.publish("pipeline_stats", self.pipeline_stats(at),
                             at=at)
            if self.ticks % 10 == 0:
                self.inference_session["inference_calls"] += 7
                self.inference_session["total_tokens"] += 21000
                self.publish("metrics_update", {
                    "issues_completed": self.lifetime["issues_completed"]},
                    at=at)
        elif self.run_status == "stopping":
            self._set_idle()

    def _set_idle(self):
        self.run_status = "idle"
        self._end_session()
        self.publish("orchestrator_status", {"status": "idle"},
                     session_id=None)

    # ------------------------------------------------------------------
    # views (GET)

    def pipeline(self):
        if not self.has_orchestrator:
            return {"stages": {}}
        stages = {}
        for stage in STAGES:
            items = []
            for idx, issue in enumerate(self._by_stage(stage)):
                items.append({
                    "issue_number": issue["issue_number"],
                    "title": issue["title"],
                    "url": issue["url"],
                    "status": self._issue_status(issue, idx),
                    "epic_number": issue["epic_number"],
                    "is_epic_child": issue["is_epic_child"],
                })
            stages[stage] = items
        return {"stages": stages}

    def queue_stats(self, at=None):
        depth = {b: 0 for b in BACKEND_STAGES}
        active = {b: 0 for b in BACKEND_STAGES}
        if self.has_orchestrator:
            for stage in STAGES:
                for idx, issue in enumerate(self._by_stage(stage)):
                    st = self._issue_status(issue, idx)
                    if st in ("active", "processing"):
                        active[BACKEND[stage]] += 1
                    else:
                        depth[BACKEND[stage]] += 1
        processed = {BACKEND[s]: n for s, n in self.completed_session.items()
                     if s in BACKEND and n}
        return {
            "queue_depth": depth,
            "active_count": active,
            "total_processed": processed,
            "last_poll_timestamp": iso(at or now()),
            "dedup_stats": {"skipped_duplicates": 0},
            "in_flight_count": sum(active.values()),
        }

    def pipeline_stats(self, at=None):
        if not self.has_orchestrator:
            return {}
        at = at or now()
        queue = self.queue_stats(at)
        stages = {}
        uptime = (at - self.started).total_seconds() + 3600.0
        for stage in STAGES + ("merged",):
            if stage == "merged":
                queued = active = workers = 0
                cap = None
            else:
                b = BACKEND[stage]
                queued = queue["queue_depth"][b]
                active = queue["active_count"][b]
                workers = active
                cap = self._cap(stage)
            stages[stage] = {
                "queued": queued, "active": active,
                "completed_session": self.completed_session[stage],
                "completed_lifetime": self.completed_lifetime[stage],
                "worker_count": workers, "worker_cap": cap,
            }
        throughput = {s: round(self.completed_lifetime[s] / (uptime / 3600)
                               / 100.0, 2) for s in STAGES}
        return {"timestamp": iso(at), "stages": stages, "queue": queue,
                "throughput": throughput, "uptime_seconds": round(uptime, 1)}

    def stats(self):
        data = dict(self.lifetime)
        data["merge_durations"] = list(self.lifetime["merge_durations"])
        if self.has_orchestrator:
            data["queue"] = self.queue_stats()
        return data

    def _rates(self):
        lt = self.lifetime
        rates = {}
        reviews = (lt["total_review_approvals"]
                   + lt["total_review_request_changes"])
        if lt["issues_completed"] > 0:
            c = lt["issues_completed"]
            rates["merge_rate"] = lt["prs_merged"] / c
            rates["quality_fix_rate"] = lt["total_quality_fix_rounds"] / c
            rates["hitl_escalation_rate"] = lt["total_hitl_escalations"] / c
            rates["avg_implementation_seconds"] = (
                lt["total_implementation_seconds"] / c)
        if reviews > 0:
            rates["first_pass_approval_rate"] = (
                lt["total_review_approvals"] / reviews)
            rates["reviewer_fix_rate"] = lt["total_reviewer_fixes"] / reviews
        retries = sum(sum(v.values())
                      for v in lt["retries_per_stage"].values())
        if retries:
            rates["retries_per_stage"] = float(retries)
        return rates

    def _time_to_merge(self):
        d = sorted(self.lifetime["merge_durations"])
        if not d:
            return {}

        def pct(p):
            return d[min(len(d) - 1, int(round(p * (len(d) - 1))))]
        return {"avg": round(sum(d) / len(d), 1), "p50": pct(0.5),
                "p90": pct(0.9)}

    def metrics(self):
        return {
            "lifetime": self.stats_without_queue(),
            "rates": self._rates(),
            "time_to_merge": self._time_to_merge(),
            "thresholds": [],
            "inference_lifetime": dict(self.inference_lifetime),
            "inference_session": (dict(self.inference_session)
                                  if self.current_session else {}),
        }

    def stats_without_queue(self):
        data = dict(self.lifetime)
        data["merge_durations"] = list(self.lifetime["merge_durations"])
        return data

    def github_metrics(self):
        counts = {label[0]: 0 for label in (
            self.config["find_label"], self.config["planner_label"],
            self.config["ready_label"], self.config["review_label"],
            self.config["hitl_label"])}
        names = {"triage": "find_label", "plan": "planner_label",
                 "implement": "ready_label", "review": "review_label",
                 "hitl": "hitl_label"}
        for issue in self.issues.values():
            counts[self.config[names[issue["stage"]]][0]] += 1
        return {"open_by_label": counts,
                "total_closed": self.github_closed,
                "total_merged": self.lifetime["prs_merged"]}

    def _metrics_snapshot(self, at, offset=0):
        lt = self.lifetime
        rates = self._rates()
        return {
            "timestamp": iso(at),
            "issues_completed": max(0, lt["issues_completed"] + offset),
            "prs_merged": max(0, lt["prs_merged"] + offset),
            "issues_created": lt["issues_created"],
            "total_quality_fix_rounds": lt["total_quality_fix_rounds"],
            "total_ci_fix_rounds": lt["total_ci_fix_rounds"],
            "total_hitl_escalations": lt["total_hitl_escalations"],
            "total_review_request_changes":
                lt["total_review_request_changes"],
            "total_review_approvals": lt["total_review_approvals"],
            "total_reviewer_fixes": lt["total_reviewer_fixes"],
            "merge_rate": rates.get("merge_rate", 0.0),
            "quality_fix_rate": rates.get("quality_fix_rate", 0.0),
            "hitl_escalation_rate": rates.get("hitl_escalation_rate", 0.0),
            "first_pass_approval_rate":
                rates.get("first_pass_approval_rate", 0.0),
            "avg_implementation_seconds":
                rates.get("avg_implementation_seconds", 0.0),
            "queue_depth": {},
            "github_open_by_label": {},
            "github_total_closed": self.github_closed,
            "github_total_merged": lt["prs_merged"],
        }

    def metrics_history(self):
        if not self.has_orchestrator:
            return {"snapshots": list(self.metric_snapshots),
                    "current": None}
        current = self._metrics_snapshot(now())
        current["queue_depth"] = self.queue_stats()["queue_depth"]
        current["github_open_by_label"] = (
            self.github_metrics()["open_by_label"])
        return {"snapshots": list(self.metric_snapshots), "current": current}

    def hitl(self):
        items = []
        for issue in self._by_stage("hitl"):
            pr = issue["pr"] or 0
            items.append({
                "issue": issue["issue_number"],
                "title": issue["title"],
                "issueUrl": issue["url"],
                "pr": pr,
                "prUrl": ("https://github.com/%s/pull/%d" % (self.repo, pr)
                          if pr else ""),
                "branch": issue["branch"],
                "cause": issue["cause"] or "Escalation (reason not recorded)",
                "status": "processing" if issue["processing"] else "pending",
                "isMemorySuggestion": False,
                "llmSummary": "",
                "llmSummaryUpdatedAt": None,
                "visualEvidence": None,
            })
        return items

    def workers(self):
        out = []
        for name, label, description in WORKER_DEFS:
            interval = None
            if name in INTERVAL_WORKERS:
                interval = self.worker_interval[name]
            elif name in PIPELINE_WORKERS:
                interval = self.hidden_config["poll_interval"]
            last = self.worker_last.get(name)
            status = "disabled"
            if last is not None:
                status = "ok"
            if not self.worker_enabled[name]:
                status = "disabled"
            nxt = None
            if last and interval:
                nxt = iso(parse_iso(last)
                          + datetime.timedelta(seconds=interval))
            out.append({
                "name": name, "label": label, "description": description,
                "status": status, "enabled": self.worker_enabled[name],
                "last_run": last, "interval_seconds": interval,
                "next_run": nxt, "details": {},
            })
        return {"workers": out}

    def prs(self):
        out = []
        for issue in sorted(self.issues.values(),
                            key=lambda i: i["issue_number"]):
            if issue["pr"] is None:
                continue
            out.append({
                "pr": issue["pr"], "issue": issue["issue_number"],
                "branch": issue["branch"],
                "url": "https://github.com/%s/pull/%d" % (self.repo,
                                                          issue["pr"]),
                "draft": issue.get("draft", False),
                "title": issue["title"],
            })
        return out

    def timeline(self):
        out = []
        order = ("triage", "plan", "implement", "review", "hitl")
        for issue in sorted(self.issues.values(),
                            key=lambda i: i["issue_number"]):
            reached = order.index(issue["stage"])
            created = parse_iso(issue["created"])
            stages = []
            for idx, stage in enumerate(order[:reached + 1]):
                started = created + datetime.timedelta(minutes=20 * idx)
                done = idx < reached
                stages.append({
                    "stage": stage,
                    "status": "done" if done else "in_progress",
                    "started_at": iso(started),
                    "completed_at": (iso(started
                                         + datetime.timedelta(minutes=20))
                                     if done else None),
                    "duration_seconds": 1200.0 if done else None,
                    "transcript_preview": [],
                    "metadata": {},
                })
            pr = issue["pr"]
            out.append({
                "issue_number": issue["issue_number"],
                "title": issue["title"],
                "current_stage": issue["stage"],
                "stages": stages,
                "total_duration_seconds": 1200.0 * reached,
                "pr_number": pr,
                "pr_url": ("https://github.com/%s/pull/%d" % (self.repo, pr)
                           if pr else None),
                "branch": issue["branch"],
            })
        return out

    def control_status(self):
        return {
            "status": self.run_status,
            "credits_paused_until": self.credits_paused_until,
            "config": dict(self.config),
            "current_session_id": self.current_session,
        }

    def session_list(self, repo=None, limit=50):
        """`load_sessions(repo, limit)` at S0: exact filter, then limit."""
        items = [s for s in self.sessions.values()
                 if repo is None or s["repo"] == repo]
        items.sort(key=lambda s: s["started_at"], reverse=True)
        return [dict(s) for s in items[:limit]]

    def session_detail(self, sid):
        s = self.sessions.get(sid)
        if s is None:
            return None
        data = dict(s)
        data["events"] = [e for e in self.history if e["session_id"] == sid]
        return data

    def epics_list(self):
        out = []
        for number in sorted(self.epics):
            out.append(self.epic_detail(number))
        return out

    def epic_detail(self, number):
        epic = self.epics.get(number)
        if epic is None:
            return None
        children = [i for i in self.issues.values()
                    if i["epic_number"] == number]
        total = len(children) + epic["merged"]
        return {
            "epic_number": number,
            "title": epic["title"],
            "url": epic["url"],
            "status": "active" if children else "completed",
            "created_at": epic["created_at"],
            "total_children": total,
            "merged_children": epic["merged"],
            "progress": round(epic["merged"] / total, 3) if total else 1.0,
            "release_ready": not children,
            "children": [{"issue_number": c["issue_number"],
                          "title": c["title"], "url": c["url"],
                          "stage": c["stage"], "state": "open"}
                         for c in sorted(children,
                                         key=lambda c: c["issue_number"])],
        }

    # ------------------------------------------------------------------
    # mutations

    def start(self):
        """POST /api/control/start; returns (status, body)."""
        if self.has_orchestrator and self.run_status == "running":
            return 409, {"error": "already running"}
        self.has_orchestrator = True
        self.run_status = "running"
        self._begin_session()
        self.publish("orchestrator_status", {"status": "running",
                                             "reset": True})
        return 200, {"status": "started"}

    def stop(self):
        if not self.has_orchestrator or self.run_status != "running":
            return 400, {"error": "not running"}
        self.run_status = "stopping"
        self.publish("orchestrator_status", {"status": "stopping"})
        return 200, {"status": "stopping"}

    def patch_config(self, body):
        persist = body.pop("persist", False)
        del persist
        updates = {}
        for key, value in body.items():
            if key in MUTABLE_INT or key in MUTABLE_STR \
                    or key in MUTABLE_BOOL:
                updates[key] = value
        if not updates:
            return 200, {"status": "ok", "updated": {}}
        errors = []
        applied = {}
        for key, value in updates.items():
            try:
                applied[key] = self._validate(key, value)
            except ValidationFailed as exc:
                errors.append("%s: %s" % (key, exc.message))
        if errors:
            return 422, {"status": "error", "message": "; ".join(errors)}
        for key, value in applied.items():
            if key in self.config:
                self.config[key] = value
            else:
                self.hidden_config[key] = value
        return 200, {"status": "ok", "updated": applied}

    @staticmethod
    def _validate(key, value):
        if key in MUTABLE_INT:
            lo, hi = MUTABLE_INT[key]
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, str):
                try:
                    value = int(value.strip())
                except ValueError:
                    raise ValidationFailed(
                        "Input should be a valid integer, unable to parse "
                        "string as an integer")
            if not isinstance(value, int):
                raise ValidationFailed("Input should be a valid integer")
            if value < lo:
                raise ValidationFailed(
                    "Input should be greater than or equal to %d" % lo)
            if value > hi:
                raise ValidationFailed(
                    "Input should be less than or equal to %d" % hi)
            return value
        if key in MUTABLE_STR:
            if not isinstance(value, str):
                raise ValidationFailed("Input should be a valid string")
            return value
        if isinstance(value, bool):
            return value
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        if isinstance(value, str) and value.lower() in (
                "true", "false", "yes", "no", "on", "off", "1", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ValidationFailed("Input should be a valid boolean")

    def toggle_worker(self, body):
        name = body.get("name")
        enabled = body.get("enabled")
        if not name or enabled is None:
            return 400, {"error": "name and enabled are required"}
        if not self.has_orchestrator:
            return 400, {"error": "no orchestrator"}
        self.worker_enabled[name] = bool(enabled)
        return 200, {"status": "ok", "name": name, "enabled": bool(enabled)}

    def hitl_action(self, number, action, reason):
        if not self.has_orchestrator:
            return 400, {"status": "no orchestrator"}
        issue = self.issues.get(number)
        if issue is not None and issue["stage"] == "hitl":
            del self.issues[number]
            if self.current_session:
                s = self.sessions[self.current_session]
                if action == "close":
                    s["issues_failed"] += 1
            key = ("total_outcomes_hitl_closed" if action == "close"
                   else "total_outcomes_hitl_skipped")
            self.lifetime[key] += 1
        self.publish("hitl_update", {"issue": number, "status": "resolved",
                                     "action": action, "reason": reason})
        return 200, {"status": "ok"}

    def answer_human_input(self, number, answer):
        if not self.has_orchestrator:
            return 400, {"status": "no orchestrator"}
        self.human_input.pop(str(number), None)
        return 200, {"status": "ok"}

    def request_changes(self, body):
        issue_number = body.get("issue_number")
        feedback = (body.get("feedback") or "")
        feedback = feedback.strip() if isinstance(feedback, str) else ""
        stage = body.get("stage") or ""
        if (not isinstance(issue_number, int) or isinstance(issue_number,
                                                            bool)
                or issue_number < 1 or not feedback):
            return 400, {"status": "error",
                         "detail": "issue_number and feedback are required"}
        labels = {"triage": "find_label", "plan": "planner_label",
                  "implement": "ready_label", "review": "review_label"}
        if stage not in labels:
            return 400, {"status": "error",
                         "detail": "Unknown stage: %s" % stage}
        origin = self.config[labels[stage]][0]
        issue = self.issues.get(issue_number)
        if issue is not None and issue["stage"] != "hitl":
            issue["cause"] = feedback
            self._move(issue, "hitl", now())
        self.publish("hitl_escalation", {"issue": issue_number,
                                         "cause": feedback,
                                         "origin": origin})
        return 200, {"status": "ok"}

    def intent(self, text):
        title = text[:120]
        issue = self._new_issue("plan", title=title)
        self.lifetime["issues_created"] += 1
        self.publish("issue_created", {
            "issue": issue["issue_number"], "title": title,
            "url": issue["url"], "labels": list(self.config[
                "planner_label"])})
        return 200, {"issue_number": issue["issue_number"], "title": title,
                     "url": issue["url"], "status": "created"}

    def delete_session(self, sid):
        s = self.sessions.get(sid)
        if s is None:
            return 404, {"error": "Session not found"}
        if s["status"] == "active":
            return 400, {"error": "Cannot delete active session"}
        del self.sessions[sid]
        return 200, {"status": "ok"}
