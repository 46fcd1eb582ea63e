"""A health insurer's day through the real router, in simulated time, against round-robin.

    .venv/bin/python bench/routing_sim.py --db sqlite            # the whole day
    .venv/bin/python bench/routing_sim.py --db pg --scale 0.05   # 5 % of everything

A fresh database (`/tmp/casework-bench/routing-sim.sqlite3`, or `casework_bench_routing_sim`
on PostgreSQL), migrated, then in bulk: 11,500 agents in 300 teams with skill mixes
(12 topics at proficiency 2–10, German for all, English/Turkish/Russian in some teams),
one queue per topic (its topic skill required), and the callers as customers. The day,
07:00–20:00 Europe/Berlin, is generated up front from `--seed`:

- 300,000 calls, Poisson arrivals with a morning peak (~10:00) and an early-afternoon
  peak (~14:00); log-normal handling times (mean 330 s, including wrap-up); callers hang up
  after a log-normal patience (mean 120 s); 12 % of calls are repeat callers (same topic,
  10 minutes to two hours after their first call) who should reach their first agent again;
- 30,000 chats (33 units, mean 480 s) and 40,000 e-mails (20 units, mean 240 s);
- shifts: agents log in (`set_presence(available)`) and out over the day so that staffed
  capacity follows the arrival curve; 55 % of the agents work that day.

Then the day runs through the real services — `submit_work_item`, `accept_offer` (the
agent answers 2 s after the offer), `complete_work_item`, `withdraw_work_item` (hang-ups),
`set_presence`, and the router's jobs through `kernel.jobs.run_due` — with `clock.now()`
replaced by the simulated clock, as fast as the machine allows. The same day also runs
through a naive baseline in memory: each topic's calls go round-robin to the agents of the
teams that own the topic (no cross-skilled agents, no relaxation, no affinity).

Reports routing decisions (offers made) per second of wall time, latency of the router's
calls (p50/p99), simulated service level (answered within 20 s), average speed of answer,
abandonment, affinity hit rate for repeat callers, occupancy; and the baseline's figures.
Targets: ≥ 2,000 decisions/s, p99 ≤ 5 ms, the whole day in under 5 minutes; service level
and affinity clearly better than round-robin (service level +5 points; affinity twice
round-robin's and +10 points). For the repeat calls it also shows what their first agent
was doing when they came in: free, on a call, working chats or e-mails, or logged out.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import gc
import heapq
import itertools
import math
import random
import sys
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fresh_db
import measure
import report

REPO_DIR = Path(__file__).resolve().parents[1]
NAME = "routing-sim"  # /tmp/casework-bench/routing-sim.sqlite3, or casework_bench_routing_sim

TARGET_DECISIONS_PER_SECOND = 2000.0
TARGET_P99_MS = 5.0
TARGET_DAY_SECONDS = 300.0
SERVICE_LEVEL_SECONDS = 20.0

TOPICS = [
    "beitrag", "leistung", "krankengeld", "pflege", "zahnersatz", "hilfsmittel",
    "mitgliedschaft", "bonus", "reha", "ausland", "familie", "rechnung",
]  # fmt: skip
TOPIC_WEIGHTS = [18, 16, 10, 9, 8, 7, 8, 5, 5, 4, 5, 5]
LANGUAGES = [("de", 0.92), ("en", 0.04), ("tr", 0.025), ("ru", 0.015)]
DAY_START_HOUR, DAY_END_HOUR = 7, 20  # Berlin local time
# 2026-12-01 is a Tuesday; Berlin is UTC+1 in December.
DAY_ORIGIN = datetime(2026, 12, 1, DAY_START_HOUR - 1, 0, tzinfo=UTC)
DAY_SECONDS = (DAY_END_HOUR - DAY_START_HOUR) * 3600
RING_SECONDS = 2.0
# The routing table's timings: a repeat caller waits 15 s for their agent (whatever that
# agent is doing, the rule's default; `--affinity-only-when-free`: only if they are free or
# wrapping up); a topic expert (level ≥ 6) is preferred, any agent with the topic after 10 s;
# an agent who frees up takes first the calls and chats that can still be answered within
# the service level's 20 s (`--by-waiting-time-only`: by urgency and age alone).
AFFINITY_WAIT_SECONDS = 15
DESIRED_LEVEL = 6
RELAX_AFTER_SECONDS = 5
RELAX_LEVELS = 3


FLUSHED_BY = {
    "thread": " by its writer thread",
    "process": " by its writer thread through a writer process",
    "loop": " between events",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="share of agents and contacts")
    parser.add_argument("--agents", type=int, default=11_500)
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--chats", type=int, default=30_000)
    parser.add_argument("--emails", type=int, default=40_000)
    parser.add_argument("--repeat-share", type=float, default=0.12)
    parser.add_argument("--working-share", type=float, default=0.55)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--max-wall", type=float, default=3600, help="stop the day after this")
    parser.add_argument(
        "--router",
        choices=["engine", "transactional"],
        default="engine",
        help="the single-writer engine (default) or one transaction per router call",
    )
    parser.add_argument(
        "--flush-ms",
        type=float,
        default=250,
        help="the engine's writer thread flushes this often (or when the last flush ends)",
    )
    parser.add_argument(
        "--flush",
        choices=["thread", "process", "loop"],
        default="process",
        help="the engine's writer thread handing the rows to a writer process (the writing "
        "on the second core), the writer thread writing them itself, or flushes between the "
        "day's events "
        "(a diagnosis: the router calls then never wait for a flush, which a real router "
        "taking calls during one would)",
    )
    parser.add_argument(
        "--affinity-only-when-free",
        action="store_true",
        help="a repeat caller waits for their last agent only if that agent is free or "
        "wrapping up (the routing rule's affinity_waits_while_busy off)",
    )
    parser.add_argument(
        "--relax-after",
        type=int,
        default=RELAX_AFTER_SECONDS,
        help="the routing table's relax_after_seconds: the wanted topic level falls by "
        f"{RELAX_LEVELS} each time (from {DESIRED_LEVEL})",
    )
    parser.add_argument(
        "--by-waiting-time-only",
        action="store_true",
        help="agents who free up take waiting calls and chats by urgency and age only (no "
        f"routing rule service_level_seconds; by default {SERVICE_LEVEL_SECONDS:.0f} s, so "
        "those who can still be answered in time go first)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    measure.add_quiet_wait_option(parser)
    args = parser.parse_args()
    for name in ("agents", "teams", "calls", "chats", "emails"):
        setattr(args, name, max(1, round(getattr(args, name) * args.scale)))
    # Scaled down, keep enough teams that every topic and language has its owners.
    args.teams = max(args.teams, min(24, args.agents // 2))
    return args


# --- The day, generated up front --------------------------------------------------------------


@dataclass
class AgentSpec:
    index: int
    team: int
    topics: dict[str, int]  # topic → proficiency
    main_topic: str  # the topic of the team's own queue
    languages: list[str]
    shift: tuple[float, float] | None  # seconds into the day, or None: not working today


@dataclass(order=True)
class Contact:
    at: float
    index: int
    channel: str = field(compare=False)
    topic: str = field(compare=False)
    language: str = field(compare=False)
    customer: int = field(compare=False)
    handle_seconds: float = field(compare=False)
    patience_seconds: float = field(compare=False)
    repeat_of: int | None = field(compare=False, default=None)


def arrival_shape(t: float) -> float:
    """Relative arrival rate at t seconds after 07:00: two peaks on a base."""
    hours = DAY_START_HOUR + t / 3600
    morning = math.exp(-((hours - 10.0) ** 2) / (2 * 1.3**2))
    afternoon = 0.75 * math.exp(-((hours - 14.0) ** 2) / (2 * 1.2**2))
    ramp = min(1.0, (hours - DAY_START_HOUR + 0.3) / 1.5) * min(1.0, (DAY_END_HOUR - hours) / 1.5)
    return 0.18 * ramp + morning + afternoon


def poisson_times(rng: random.Random, count: int) -> list[float]:
    """`count` arrival times of an inhomogeneous Poisson process (thinning), sorted."""
    peak = max(arrival_shape(t) for t in range(0, DAY_SECONDS, 60))
    mean_shape = sum(arrival_shape(t) for t in range(0, DAY_SECONDS, 60)) / (DAY_SECONDS / 60)
    rate_max = count / DAY_SECONDS * peak / mean_shape
    times, t = [], 0.0
    while True:
        t += rng.expovariate(rate_max)
        if t >= DAY_SECONDS:
            break
        if rng.random() * peak <= arrival_shape(t):
            times.append(t)
    return times


def lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def generate_day(args: argparse.Namespace) -> tuple[list[AgentSpec], list[Contact], int]:
    rng = random.Random(args.seed)
    # Topics are owned by teams in proportion to demand (every topic by some team): each
    # team's first topic comes from a weighted rotation, two more are drawn by weight.
    rotation = [topic for topic, weight in zip(TOPICS, TOPIC_WEIGHTS, strict=True)
                for _ in range(weight)]  # fmt: skip
    rng.shuffle(rotation)
    rotation = sorted(set(TOPICS), key=rotation.index) + rotation
    team_topics = []
    for team in range(args.teams):
        picked = [rotation[team % len(rotation)]]
        while len(picked) < 3:
            topic = rng.choices(TOPICS, weights=TOPIC_WEIGHTS)[0]
            if topic not in picked:
                picked.append(topic)
        team_topics.append(picked)
    team_language = []
    for team in range(args.teams):
        roll = team / max(1, args.teams)
        team_language.append(
            "en" if roll < 0.08 else "tr" if roll < 0.13 else "ru" if roll < 0.16 else ""
        )
    agents = []
    for index in range(args.agents):
        team = index % args.teams
        topics = {topic: rng.randint(3, 10) for topic in team_topics[team]}
        if rng.random() < 0.25:  # cross-skilled: one more topic at a lower level
            extra = rng.choice(TOPICS)
            topics.setdefault(extra, rng.randint(2, 6))
        languages = ["de"] + ([team_language[team]] if team_language[team] else [])
        agents.append(AgentSpec(index, team, topics, team_topics[team][0], languages, None))
    # Shifts of 4–8 h for the agents working today, started so that staffing follows demand.
    working = rng.sample(range(args.agents), k=round(args.agents * args.working_share))
    for index in working:
        length = rng.choice([4, 6, 8, 8, 8]) * 3600
        while True:
            start = rng.uniform(-1800, DAY_SECONDS - length + 1800)
            middle = min(max(start + length / 2, 0), DAY_SECONDS - 1)
            if rng.random() * 1.8 <= arrival_shape(middle):
                break
        agents[index].shift = (max(0.0, start), min(float(DAY_SECONDS), start + length))

    contacts: list[Contact] = []
    counter = itertools.count()
    customers = itertools.count()
    arrivals: list[float] = []  # the calls so far, by arrival

    def language() -> str:
        roll, total = rng.random(), 0.0
        for code, share in LANGUAGES:
            total += share
            if roll < total:
                return code
        return "de"

    for at in poisson_times(rng, args.calls):
        # A repeat caller called first 10 minutes to 2 hours ago: the last call that came in
        # by then, whatever the scale (a count of recent calls would shrink that time as
        # the scale grows).
        called_before = bisect.bisect_right(arrivals, at - rng.uniform(600, 7200)) - 1
        if called_before >= 0 and rng.random() < args.repeat_share:
            first = contacts[called_before]
            contact = Contact(
                at, next(counter), "phone", first.topic, first.language, first.customer,
                lognormal(rng, 240, 0.6), lognormal(rng, 120, 0.8), repeat_of=first.index,
            )  # fmt: skip
        else:
            contact = Contact(
                at, next(counter), "phone", rng.choices(TOPICS, weights=TOPIC_WEIGHTS)[0],
                language(), next(customers), lognormal(rng, 330, 0.6), lognormal(rng, 120, 0.8),
            )  # fmt: skip
        contacts.append(contact)
        arrivals.append(at)
    for channel, count, mean, patience in (
        ("chat", args.chats, 480, 180),
        ("email", args.emails, 240, 0),
    ):
        for at in poisson_times(rng, count):
            contacts.append(
                Contact(
                    at,
                    next(counter),
                    channel,
                    rng.choices(TOPICS, weights=TOPIC_WEIGHTS)[0],
                    "de",
                    next(customers),
                    lognormal(rng, mean, 0.6),
                    lognormal(rng, patience, 0.8) if patience else 0.0,
                )  # fmt: skip
            )
    contacts.sort()
    return agents, contacts, next(customers)


# --- Outcome bookkeeping shared by both policies --------------------------------------------------


@dataclass
class Outcome:
    answered: dict[int, tuple[float, int]] = field(default_factory=dict)  # index → (wait, agent)
    abandoned: set[int] = field(default_factory=set)
    busy_seconds: float = 0.0  # agent-seconds of units in use (phone = whole agent)
    staffed_seconds: float = 0.0

    def service_level_by_hour(self, contacts: list[Contact]) -> dict[int, tuple[int, float]]:
        """Hour of the day (0 = the first) → calls that arrived in it, share answered in time."""
        calls: Counter[int] = Counter()
        in_time: Counter[int] = Counter()
        for contact in contacts:
            if contact.channel != "phone":
                continue
            hour = int(contact.at // 3600)
            calls[hour] += 1
            answered = self.answered.get(contact.index)
            if answered is not None and answered[0] <= SERVICE_LEVEL_SECONDS:
                in_time[hour] += 1
        return {hour: (count, in_time[hour] / count) for hour, count in calls.items()}

    def figures(self, contacts: list[Contact], channel: str = "phone") -> dict[str, float]:
        of_channel = [c for c in contacts if c.channel == channel]
        answered = [self.answered[c.index] for c in of_channel if c.index in self.answered]
        within = sum(1 for wait, _ in answered if wait <= SERVICE_LEVEL_SECONDS)
        repeats = [c for c in of_channel if c.repeat_of is not None and c.index in self.answered]
        hits = sum(
            1
            for c in repeats
            if c.repeat_of in self.answered
            and self.answered[c.repeat_of][1] == self.answered[c.index][1]
        )
        return {
            "contacts": len(of_channel),
            "answered": len(answered),
            "abandoned": sum(1 for c in of_channel if c.index in self.abandoned),
            "service_level": within / max(1, len(of_channel)),
            "asa_seconds": sum(w for w, _ in answered) / max(1, len(answered)),
            "repeat_answered": len(repeats),
            "affinity_hit_rate": hits / max(1, len(repeats)),
            "occupancy": self.busy_seconds / max(1.0, self.staffed_seconds),
        }


# --- The naive baseline: round-robin within the owning teams, in memory ------------------------


UNITS = {"phone": 100, "chat": 33, "email": 20}


def run_round_robin(agents: list[AgentSpec], contacts: list[Contact]) -> Outcome:
    """Team queues, as before the router: each team works the queue of its main topic;
    a contact goes to the next agent in rotation among those teams' agents who speak its
    language, are logged in and have room; otherwise it waits there (FIFO). Agents' other
    topics, proficiency and the customer's last agent play no part. As with the router, the
    contact rings at the agent for `RING_SECONDS` before it is answered (the agent is
    taken meanwhile, and a caller may hang up during it)."""
    outcome = Outcome()
    pools: dict[tuple[str, str], list[int]] = defaultdict(list)
    owners: dict[int, set[str]] = {}
    for agent in agents:
        owners[agent.index] = {agent.main_topic}
        for topic in owners[agent.index]:
            for lang in agent.languages:
                pools[(topic, lang)].append(agent.index)
    cursor: dict[tuple[str, str], int] = defaultdict(int)
    used = [0] * len(agents)
    on_shift = [False] * len(agents)
    waiting: dict[tuple[str, str], deque[Contact]] = defaultdict(deque)
    events: list[tuple[float, int, str, Any]] = []
    seq = itertools.count()
    for agent in agents:
        if agent.shift:
            heapq.heappush(events, (agent.shift[0], next(seq), "login", agent.index))
            heapq.heappush(events, (agent.shift[1], next(seq), "logout", agent.index))
    for contact in contacts:
        heapq.heappush(events, (contact.at, next(seq), "arrive", contact))
    last_t, busy_units, staffed = 0.0, 0, 0
    ringing: dict[int, tuple[int, float]] = {}  # contact index → (agent, wait until it rang)

    def try_assign(contact: Contact, now: float) -> bool:
        nonlocal busy_units
        key = (contact.topic, contact.language)
        pool = pools.get(key, [])
        for step in range(len(pool)):
            agent = pool[(cursor[key] + step) % len(pool)]
            if on_shift[agent] and used[agent] + UNITS[contact.channel] <= 100:
                cursor[key] = (cursor[key] + step + 1) % len(pool)
                used[agent] += UNITS[contact.channel]
                busy_units += UNITS[contact.channel]
                ringing[contact.index] = (agent, now - contact.at)
                heapq.heappush(events, (now + RING_SECONDS, next(seq), "answer", contact))
                return True
        return False

    def serve_waiting(agent: int, now: float) -> None:
        for topic in owners[agent]:
            for lang in agents[agent].languages:
                queue = waiting.get((topic, lang))
                while queue and on_shift[agent]:
                    contact = queue[0]
                    if contact.index in outcome.abandoned:
                        queue.popleft()
                        continue
                    if used[agent] + UNITS[contact.channel] > 100:
                        break
                    queue.popleft()
                    try_assign(contact, now)

    while events:
        now, _, kind, data = heapq.heappop(events)
        outcome.busy_seconds += busy_units / 100 * (now - last_t)
        outcome.staffed_seconds += staffed * (now - last_t)
        last_t = now
        if kind == "arrive":
            if not try_assign(data, now):
                waiting[(data.topic, data.language)].append(data)
            if data.patience_seconds:
                heapq.heappush(events, (now + data.patience_seconds, next(seq), "give_up", data))
        elif kind == "answer":
            if data.index in ringing:  # the caller did not hang up while it rang
                agent, wait = ringing.pop(data.index)
                outcome.answered[data.index] = (wait, agent)
                end = now + data.handle_seconds
                heapq.heappush(events, (end, next(seq), "end", (agent, data)))
        elif kind == "give_up":
            if data.index in ringing:
                agent, _wait = ringing.pop(data.index)
                used[agent] -= UNITS[data.channel]
                busy_units -= UNITS[data.channel]
                outcome.abandoned.add(data.index)
                serve_waiting(agent, now)
            elif data.index not in outcome.answered:
                outcome.abandoned.add(data.index)
        elif kind == "end":
            agent, contact = data
            used[agent] -= UNITS[contact.channel]
            busy_units -= UNITS[contact.channel]
            serve_waiting(agent, now)
        elif kind == "login":
            on_shift[data] = True
            staffed += 1
            serve_waiting(data, now)
        elif kind == "logout":
            on_shift[data] = False
            staffed -= 1
    return outcome


# --- The real router ---


def load_reference_data(
    agents: list[AgentSpec],
    customers: int,
    *,
    waits_while_busy: bool,
    relax_after: int,
    service_level_first: bool,
) -> dict[str, Any]:
    """Skills, teams, queues, agents with skills and status rows, customers: in bulk."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from casework.customers.models import Customer
    from casework.routing.models import (
        Agent,
        AgentSkill,
        AgentStatus,
        ChannelCapacity,
        Queue,
        RoutingRule,
        Skill,
        Team,
    )

    User = get_user_model()
    started = time.perf_counter()
    with transaction.atomic():
        # The day's handling times include wrap-up; chats and e-mails wait longer to be taken.
        ChannelCapacity.objects.filter(channel="phone").update(after_work_seconds=0)
        ChannelCapacity.objects.filter(channel="email").update(
            is_push=True, offer_timeout_seconds=60
        )
        skills = {}
        for code in [*TOPICS, "lang-de", "lang-en", "lang-tr", "lang-ru"]:
            skills[code] = Skill.objects.create(
                code=code, kind="language" if code.startswith("lang") else "topic",
                name_de=code, name_en=code,
            )  # fmt: skip
        teams = Team.objects.bulk_create(
            [Team(code=f"team-{i:03d}", name_de=f"Team {i}", name_en=f"Team {i}") for i in
             range(1 + max(a.team for a in agents))]
        )  # fmt: skip
        # The routing table: one row per channel; the topic (from the IVR menu, the chat
        # form, the e-mail classifier) comes with each item as its own skills.
        for order, channel in enumerate(["phone", "chat", "email"]):
            queue = Queue.objects.create(
                code=f"{channel}-service", name_de=channel, name_en=channel, team=teams[0]
            )
            RoutingRule.objects.create(
                order=order, name=channel, channel=channel, queue=queue,
                affinity_wait_seconds=AFFINITY_WAIT_SECONDS,
                affinity_waits_while_busy=waits_while_busy,
                relax_after_seconds=relax_after, relax_levels=RELAX_LEVELS,
                service_level_seconds=(
                    round(SERVICE_LEVEL_SECONDS)
                    if service_level_first and channel != "email" else None
                ),
            )  # fmt: skip
        users = User.objects.bulk_create(
            [User(username=f"sim{a.index:05d}", password="!") for a in agents], batch_size=2000
        )
        agent_rows = Agent.objects.bulk_create(
            [Agent(user=user) for user in users], batch_size=2000
        )
        through = Agent.teams.through
        through.objects.bulk_create(
            [through(agent_id=row.pk, team_id=teams[a.team].pk) for a, row in
             zip(agents, agent_rows, strict=True)], batch_size=5000,
        )  # fmt: skip
        AgentSkill.objects.bulk_create(
            [
                AgentSkill(agent_id=row.pk, skill_id=skills[code].pk, proficiency=level)
                for a, row in zip(agents, agent_rows, strict=True)
                for code, level in [*a.topics.items(), *((f"lang-{x}", 8) for x in a.languages)]
            ],
            batch_size=5000,
        )
        origin = DAY_ORIGIN
        AgentStatus.objects.bulk_create(
            [AgentStatus(agent_id=row.pk, presence_id="offline", presence_since_at=origin,
                         idle_since_at=origin) for row in agent_rows], batch_size=5000,
        )  # fmt: skip
        Customer.objects.bulk_create(
            [Customer(customer_number=f"S{i:08d}", first_name="Sim", last_name=f"Caller{i}")
             for i in range(customers)], batch_size=5000,
        )  # fmt: skip
    first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {
        "agent_ids": [row.pk for row in agent_rows],
        "first_customer_id": first_customer,
        "load_seconds": round(time.perf_counter() - started, 1),
    }


@dataclass
class RouterRun:
    outcome: Outcome
    latencies: dict[str, list[float]]
    decisions: int
    wall_seconds: float
    simulated_seconds: float
    finished: bool
    statements: int = 0
    # Repeat calls by what their first agent was doing when they came in (see below).
    first_agent_states: dict[str, int] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)  # the engine's tables afterwards


class TransactionalRouter:
    """The router's functions, one transaction per call; timers are jobs in the table."""

    def __init__(self, day_clock: dict[str, float]) -> None:
        from django.db import connection

        from casework.kernel import clock, jobs, sql
        from casework.kernel.models import Job, JobStatus
        from casework.routing import presence, router

        self.sql, self.jobs, self.clock = sql, jobs, clock
        self.router, self.presence = router, presence
        self.day_clock = day_clock
        self.last_offer = 0
        self.next_job_check = 0.0
        self.queued = JobStatus.QUEUED.value
        next_attempt_at = Job._meta.get_field("next_attempt_at")
        self.due_at = lambda moment: next_attempt_at.get_db_prep_save(moment, connection)

    # The benchmark's own look-ups, kept lean: they are not the router's work.
    _NEW_OFFERS = "SELECT id, item_id, agent_id FROM routing_offer WHERE id > %s ORDER BY id"
    _JOBS_DUE = "SELECT 1 FROM kernel_job WHERE status = %s AND next_attempt_at <= %s LIMIT 1"
    _AGENT_STATE = "SELECT presence_code, used_units FROM routing_agentstatus WHERE agent_id = %s"

    def submit(self, new: Any, actor: Any) -> int:
        return self.router.submit_work_item(new, actor=actor).pk

    def accept(self, item_id: int, actor: Any) -> None:
        self.router.accept_offer(item_id, actor=actor)

    def complete(self, item_id: int, actor: Any) -> None:
        self.router.complete_work_item(item_id, actor=actor)

    def withdraw(self, item_id: int, actor: Any) -> None:
        self.router.withdraw_work_item(item_id, actor=actor)

    def set_presence(self, agent_id: int, state: str, actor: Any) -> None:
        self.presence.set_presence(agent_id, state, actor=actor)

    def timers_until(self, now: float, timed: Any) -> None:
        """The router's jobs, looked for once a simulated second (as a worker polls)."""
        if now < self.next_job_check:
            return
        self.day_clock["t"] = now
        if self.sql.fetch_one(self._JOBS_DUE, [self.queued, self.due_at(self.clock.now())]):
            timed("jobs", self.jobs.run_due, limit=200)
        self.next_job_check = math.floor(now) + 1.0

    def new_offers(self) -> list[tuple[int, int]]:
        rows = self.sql.fetch_all(self._NEW_OFFERS, [self.last_offer])
        if rows:
            self.last_offer = rows[-1][0]
        return [(item_id, agent_id) for _offer, item_id, agent_id in rows]

    def agent_state(self, agent_id: int) -> tuple[str, int] | None:
        return self.sql.fetch_one(self._AGENT_STATE, [agent_id])

    def running(self) -> Any:
        return contextlib.nullcontext()

    def flush_if_due(self, timed: Any) -> None:
        pass

    def finish(self) -> dict[str, Any]:
        return {}


class EngineRouter:
    """The single-writer engine (docs/adr/0012): decisions in memory, its timers run at
    their exact simulated time, the tables written behind every `flush_ms` of wall time."""

    def __init__(
        self, day_clock: dict[str, float], flush_ms: float, *, in_thread: bool, in_process: bool
    ) -> None:
        from casework.routing.engine import RouterEngine

        self.engine = RouterEngine.load()
        self.day_clock = day_clock
        self.flush_seconds = flush_ms / 1000
        self.in_thread = in_thread
        self.in_process = in_process
        self.last_flush = time.perf_counter()

    @contextlib.contextmanager
    def running(self) -> Any:
        """The writer thread while the day runs (or nothing: the loop flushes itself)."""
        if not self.in_thread:
            yield
            return
        # A router call waiting for the interpreter behind the writer's Python waits for
        # at most this long (the default, 5 ms, is the whole latency budget).
        previous = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            with self.engine.writing_behind(self.flush_seconds, in_process=self.in_process):
                yield
        finally:
            sys.setswitchinterval(previous)

    def submit(self, new: Any, actor: Any) -> int:
        return self.engine.submit(new, actor=actor).id

    def accept(self, item_id: int, actor: Any) -> None:
        self.engine.accept(item_id, actor=actor)

    def complete(self, item_id: int, actor: Any) -> None:
        self.engine.complete(item_id, actor=actor)

    def withdraw(self, item_id: int, actor: Any) -> None:
        self.engine.withdraw(item_id, actor=actor)

    def set_presence(self, agent_id: int, state: str, actor: Any) -> None:
        self.engine.set_presence(agent_id, state, actor=actor)

    def timers_until(self, now: float, timed: Any) -> None:
        while (at := self.engine.next_timer_at()) is not None and at <= day_time(now):
            self.day_clock["t"] = (at - DAY_ORIGIN).total_seconds()
            timed("timers", self.engine.run_timers)

    def new_offers(self) -> list[tuple[int, int]]:
        return [(offer.item_id, offer.agent_id) for offer in self.engine.take_new_offers()]

    def agent_state(self, agent_id: int) -> tuple[str, int] | None:
        state = self.engine.agent_state(agent_id)
        return (state.presence_id, state.used_units) if state else None

    def flush_if_due(self, timed: Any) -> None:
        if not self.in_thread and time.perf_counter() - self.last_flush >= self.flush_seconds:
            timed("flush", self.engine.flush)
            self.last_flush = time.perf_counter()

    def engine_units(self, agent_id: int) -> int:
        state = self.engine.agent_state(agent_id)
        return state.used_units if state else 0

    def finish(self) -> dict[str, Any]:
        """The last flush, then the tables checked against the engine's state."""
        from casework.kernel import sql

        self.engine.flush()
        used = dict(sql.fetch_all("SELECT agent_id, used_units FROM routing_agentstatus", []))
        held: dict[int, int] = defaultdict(int)
        for agent_id, units in sql.fetch_all(
            "SELECT agent_id, units FROM routing_workitem WHERE status IN ('offered', 'accepted')",
            [],
        ):
            held[agent_id] += units
        agents_off = sum(
            1
            for agent_id, units in used.items()
            if units != held.get(agent_id, 0) or units != self.engine_units(agent_id)
        )
        (pending,) = sql.fetch_one(_COUNT_PENDING_OFFERS, []) or (0,)
        (offered,) = sql.fetch_one(_COUNT_OFFERED_ITEMS, []) or (0,)
        flushes = self.engine.flushes
        return {
            "flushes": len(flushes),
            "flushed_rows": sum(rows for rows, _seconds in flushes),
            "flush_seconds": round(sum(seconds for _rows, seconds in flushes), 2),
            "flush_p50_ms": round(1000 * sorted(s for _r, s in flushes)[len(flushes) // 2], 1)
            if flushes
            else None,
            "agents_whose_occupancy_disagrees": agents_off,
            "pending_offers": pending,
            "offered_items": offered,
        }


_COUNT_PENDING_OFFERS = "SELECT COUNT(*) FROM routing_offer WHERE status = 'pending'"
_COUNT_OFFERED_ITEMS = "SELECT COUNT(*) FROM routing_workitem WHERE status = 'offered'"


def day_time(seconds: float) -> datetime:
    return DAY_ORIGIN + timedelta(seconds=seconds)


def run_router(
    agents: list[AgentSpec],
    contacts: list[Contact],
    ids: dict[str, Any],
    max_wall: float,
    *,
    engine: bool,
    flush_ms: float,
    flush_in_thread: bool,
    flush_in_process: bool,
) -> RouterRun:
    from casework.kernel import clock
    from casework.kernel.actors import Actor
    from casework.routing.errors import NoPendingOffer, OfferExpired, WorkItemNotActive
    from casework.routing.models import Agent
    from casework.routing.queries import actor_for_agent
    from casework.routing.router import NewWorkItem

    first_state: dict[int, tuple[int, tuple[str, int] | None]] = {}
    sim = {"t": 0.0}
    clock.now = lambda: DAY_ORIGIN + timedelta(seconds=sim["t"])  # the simulated clock
    router: TransactionalRouter | EngineRouter = (
        EngineRouter(sim, flush_ms, in_thread=flush_in_thread, in_process=flush_in_process)
        if engine
        else TransactionalRouter(sim)
    )
    system = Actor.system("bench")
    agent_ids: list[int] = ids["agent_ids"]
    index_of = {agent_id: i for i, agent_id in enumerate(agent_ids)}
    actors = {
        agent.pk: actor_for_agent(agent)
        for agent in Agent.objects.select_related("user").prefetch_related("teams")
    }
    outcome = Outcome()
    latencies: dict[str, list[float]] = defaultdict(list)
    events: list[tuple[float, int, str, Any]] = []
    seq = itertools.count()
    for agent in agents:
        if agent.shift:
            heapq.heappush(events, (agent.shift[0], next(seq), "login", agent.index))
            heapq.heappush(events, (agent.shift[1], next(seq), "logout", agent.index))
    for contact in contacts:
        heapq.heappush(events, (contact.at, next(seq), "arrive", contact))
    contact_of_item: dict[int, Contact] = {}
    item_of_contact: dict[int, int] = {}
    decisions = 0
    used_units = [0] * len(agents)
    staffed = 0
    busy_units = 0
    last_t = 0.0

    def timed(kind: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            latencies[kind].append(time.perf_counter() - began)

    def collect_offers() -> None:
        nonlocal decisions
        for item_id, agent_id in router.new_offers():
            decisions += 1
            heapq.heappush(
                events, (sim["t"] + RING_SECONDS, next(seq), "answer", (item_id, agent_id))
            )

    def run_day() -> bool:
        """The day's events in time order; False if it stopped at --max-wall."""
        nonlocal decisions, busy_units, staffed, last_t
        while events:
            now, _, kind, data = heapq.heappop(events)
            router.timers_until(now, timed)
            collect_offers()
            outcome.busy_seconds += busy_units / 100 * (now - last_t)
            outcome.staffed_seconds += staffed * (now - last_t)
            last_t = sim["t"] = now
            if kind == "arrive":
                contact: Contact = data
                if contact.repeat_of is not None and contact.repeat_of in outcome.answered:
                    first_agent = outcome.answered[contact.repeat_of][1]
                    first_state[contact.index] = (
                        first_agent,
                        router.agent_state(agent_ids[first_agent]),
                    )
                skills = {contact.topic: 1}
                if contact.language != "de":
                    skills[f"lang-{contact.language}"] = 1
                item_id = timed(
                    "submit",
                    router.submit,
                    NewWorkItem(
                        channel=contact.channel,
                        external_id=f"sim-{contact.index}",
                        # What a channel knows before it asks (docs/adr/0013): a contact
                        # is submitted once, and the simulated customers have no cases.
                        first_submission=True,
                        open_case_owner=None,
                        customer_id=ids["first_customer_id"] + contact.customer,
                        language=contact.language,
                        required_skills=skills,
                        desired_skills={contact.topic: DESIRED_LEVEL},
                    ),
                    system,
                )
                contact_of_item[item_id] = contact
                item_of_contact[contact.index] = item_id
                if contact.patience_seconds:  # e-mails wait for as long as it takes
                    heapq.heappush(
                        events, (now + contact.patience_seconds, next(seq), "give_up", contact)
                    )
            elif kind == "answer":
                item_id, agent_id = data
                try:
                    timed("accept", router.accept, item_id, actors[agent_id])
                except (NoPendingOffer, OfferExpired):
                    collect_offers()  # withdrawn meanwhile, or expired: moved on
                    continue
                contact = contact_of_item[item_id]
                agent_index = index_of[agent_id]
                outcome.answered[contact.index] = (now - contact.at - RING_SECONDS, agent_index)
                used_units[agent_index] += UNITS[contact.channel]
                busy_units += UNITS[contact.channel]
                end = now + contact.handle_seconds
                heapq.heappush(events, (end, next(seq), "end", (item_id, agent_id)))
            elif kind == "end":
                item_id, agent_id = data
                timed("complete", router.complete, item_id, actors[agent_id])
                contact = contact_of_item[item_id]
                used_units[index_of[agent_id]] -= UNITS[contact.channel]
                busy_units -= UNITS[contact.channel]
            elif kind == "give_up":
                contact = data
                if contact.index in outcome.answered:
                    continue
                try:
                    timed("withdraw", router.withdraw, item_of_contact[contact.index], system)
                    outcome.abandoned.add(contact.index)
                except WorkItemNotActive:
                    pass  # accepted in the same instant
            elif kind == "login":
                staffed += 1
                timed("presence", router.set_presence, agent_ids[data], "available", system)
            elif kind == "logout":
                staffed -= 1
                timed("presence", router.set_presence, agent_ids[data], "offline", system)
            collect_offers()
            router.flush_if_due(timed)
            if time.perf_counter() - began > max_wall:
                return False
        return True

    # The day's plan (every contact, every event) stays in memory for the whole run: keep it
    # out of the garbage collector's scans, which would otherwise stall router calls.
    gc.collect()
    gc.freeze()
    began = time.perf_counter()
    with router.running():
        finished = run_day()
    wall = time.perf_counter() - began
    run = RouterRun(outcome, latencies, decisions, wall, sim["t"], finished)
    run.first_agent_states = first_agent_tally(first_state, outcome)
    run.checks = router.finish()
    return run


def first_agent_tally(
    first_state: dict[int, tuple[int, tuple[str, int] | None]], outcome: Outcome
) -> dict[str, int]:
    """Why repeat callers did or did not reach their first agent: what that agent was doing
    when the repeat call came in (a call takes the whole agent, so an agent working chats or
    e-mails has no room for it), and whether the call went to them."""
    tally: dict[str, int] = defaultdict(int)
    for index, (first_agent, state) in first_state.items():
        presence, used = state or ("offline", 0)
        if presence == "available":
            doing = "free" if used == 0 else "working chats/e-mails"
        elif presence in ("busy", "after_call_work"):
            doing = "on a call or wrapping up"
        else:
            doing = "logged out or away"
        answered = outcome.answered.get(index)
        reached = (
            "abandoned"
            if answered is None
            else "reached them"
            if answered[1] == first_agent
            else "went to another agent"
        )
        tally[f"{doing}: {reached}"] += 1
    return dict(sorted(tally.items(), key=lambda kv: -kv[1]))


def main() -> int:
    args = parse_args()
    sys.setrecursionlimit(10_000)
    started = time.perf_counter()
    agents, contacts, customers = generate_day(args)
    generated = time.perf_counter() - started
    facts = report.machine_facts()
    report.print_header(
        "Routing: a health insurer's day through the real router (simulated time)",
        facts,
        {
            "database": args.db,
            "router": args.router
            + (
                f" (flushed every {args.flush_ms:g} ms{FLUSHED_BY[args.flush]})"
                if args.router == "engine"
                else ""
            ),
            "scale": f"{args.scale} → {args.agents:,} agents, {args.teams} teams, "
            f"{args.calls:,} calls, {args.chats:,} chats, {args.emails:,} e-mails",
            "seed": args.seed,
            "waiting calls and chats": "by urgency and age"
            if args.by_waiting_time_only
            else f"those still within {SERVICE_LEVEL_SECONDS:.0f} s first",
        },
    )
    print(f"day generated in {generated:.1f} s: {len(contacts):,} contacts, "
          f"{sum(1 for a in agents if a.shift):,} agents on shift, "
          f"{customers:,} callers")  # fmt: skip

    baseline_started = time.perf_counter()
    baseline = run_round_robin(agents, contacts)
    print(f"round-robin baseline simulated in {time.perf_counter() - baseline_started:.1f} s")

    fresh_db.setup_django(args.db, NAME)
    ids = load_reference_data(
        agents,
        customers,
        waits_while_busy=not args.affinity_only_when_free,
        relax_after=args.relax_after,
        service_level_first=not args.by_waiting_time_only,
    )
    print(f"reference data loaded in {ids['load_seconds']} s")
    measure.wait_for_quiet(args.quiet_wait)

    with measure.MachineLoad(fresh_db.pg_name(NAME) if args.db == "pg" else None) as load:
        counter = measure.QueryCounter()
        with counter.installed():
            run = run_router(
                agents,
                contacts,
                ids,
                args.max_wall,
                engine=args.router == "engine",
                flush_ms=args.flush_ms,
                flush_in_thread=args.flush != "loop",
                flush_in_process=args.flush == "process",
            )
    print(load.describe())
    run.statements = counter.total

    router_figures = run.outcome.figures(contacts)
    baseline_figures = baseline.figures(contacts)
    # The engine's flushes write behind: no router call waits for one (their own row).
    all_calls = [
        latency for kind, values in run.latencies.items() if kind != "flush" for latency in values
    ]
    overall = measure.Latency.of(all_calls)
    decisions_per_second = run.decisions / run.wall_seconds
    rows = [
        (kind, len(values), measure.Latency.of(values).p50, measure.Latency.of(values).p99,
         sum(values))
        for kind, values in sorted(run.latencies.items())
    ]  # fmt: skip
    report.print_table(
        "Router calls (wall time)", ["call", "count", "p50 ms", "p99 ms", "total s"],
        [*rows, ("all but flush", overall.n, overall.p50, overall.p99, sum(all_calls))],
    )  # fmt: skip
    if run.checks:
        print(f"\nthe tables after the last flush: {run.checks}")
    day_share = run.simulated_seconds / DAY_SECONDS
    print(
        f"\nsimulated {run.simulated_seconds / 3600:.2f} h of {DAY_SECONDS / 3600:.0f} h in "
        f"{run.wall_seconds:.1f} s wall "
        f"({'whole day' if run.finished else 'STOPPED at --max-wall'})"
        f"; {run.decisions:,} routing decisions (offers) = {decisions_per_second:,.0f}/s; "
        f"{run.statements / max(1, overall.n):.1f} SQL statements per router call"
    )
    phone_rows = []
    for name, figures in (("router", router_figures), ("round-robin", baseline_figures)):
        phone_rows.append(
            (name, figures["contacts"], figures["answered"], figures["abandoned"],
             f"{figures['service_level']:.1%}", figures["asa_seconds"],
             f"{figures['affinity_hit_rate']:.1%}", figures["repeat_answered"],
             f"{figures['occupancy']:.1%}")
        )  # fmt: skip
    report.print_table(
        "Calls (the router's figures cover the simulated part of the day)",
        ["policy", "calls", "answered", "abandoned", f"SL {SERVICE_LEVEL_SECONDS:.0f} s",
         "ASA s", "affinity", "repeat answered", "occupancy"],
        phone_rows,
    )  # fmt: skip
    by_hour = {
        "router": run.outcome.service_level_by_hour(contacts),
        "round-robin": baseline.service_level_by_hour(contacts),
    }
    report.print_table(
        f"Calls answered within {SERVICE_LEVEL_SECONDS:.0f} s, by hour of arrival (Berlin)",
        ["hour", "calls", "router", "round-robin"],
        [
            (f"{DAY_START_HOUR + hour:02d}:00", calls, f"{share:.1%}",
             f"{by_hour['round-robin'][hour][1]:.1%}")
            for hour, (calls, share) in sorted(by_hour["router"].items())
        ],
    )  # fmt: skip
    if run.first_agent_states:
        report.print_table(
            "Repeat calls: what the first agent was doing when the call came in",
            ["first agent", "calls"],
            list(run.first_agent_states.items()),
        )
    for channel in ("chat", "email"):
        r, b = run.outcome.figures(contacts, channel), baseline.figures(contacts, channel)
        print(f"{channel}: router answered {r['answered']:,} (ASA {r['asa_seconds']:.0f} s), "
              f"round-robin {b['answered']:,} (ASA {b['asa_seconds']:.0f} s)")  # fmt: skip
    # The full-scale day: a scaled run has `--scale` of the agents and contacts, and the
    # work per contact does not shrink with it.
    whole_day = run.wall_seconds / max(day_share, 1e-9) / args.scale
    checks = [
        report.Check("routing decisions per second", decisions_per_second,
                     TARGET_DECISIONS_PER_SECOND, "/s", at_most=False),
        report.Check("router call latency p99", overall.p99, TARGET_P99_MS, "ms"),
        report.Check("full-scale day (extrapolated)", whole_day, TARGET_DAY_SECONDS, "s"),
        report.Check("service level − round-robin's", 100 * (router_figures["service_level"] -
                     baseline_figures["service_level"]), 5.0, "points", at_most=False),
        # "Clearly better" for repeat callers: at least twice round-robin's hit rate and 10
        # points above it. A caller can only reach an agent who has room for a call within
        # the 15 s affinity wait; the table of first agents' states shows how often one had.
        report.Check("affinity − round-robin's", 100 * (router_figures["affinity_hit_rate"] -
                     baseline_figures["affinity_hit_rate"]), 10.0, "points", at_most=False),
        report.Check("affinity ÷ round-robin's", router_figures["affinity_hit_rate"] /
                     max(baseline_figures["affinity_hit_rate"], 1e-9), 2.0, "×", at_most=False),
    ]  # fmt: skip
    report.print_checks(checks)
    report.write_results(
        "routing_sim",
        args.db,
        {
            "machine": facts,
            "args": vars(args),
            "router": router_figures,
            "round_robin": baseline_figures,
            "decisions": run.decisions,
            "decisions_per_second": decisions_per_second,
            "wall_seconds": run.wall_seconds,
            "simulated_seconds": run.simulated_seconds,
            "finished": run.finished,
            "latency": {k: measure.Latency.of(v).as_dict() for k, v in run.latencies.items()},
            "latency_all": overall.as_dict(),
            "statements": run.statements,
            "first_agent_states": run.first_agent_states,
            "service_level_by_hour": by_hour,
            "router_mode": args.router,
            "flush_ms": args.flush_ms,
            "table_checks": run.checks,
            "load": load.figures,
            "checks": [check.as_dict() for check in checks],
        },
    )
    if not args.keep:
        fresh_db.drop_database(args.db, NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
