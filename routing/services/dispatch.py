"""The dispatch pass: queued push work offered to eligible agents, a batch at a time (ROU-9..12, NOT-5).

One pass is one transaction:

1. it locks a batch of queued items of the open, active queues (``SKIP LOCKED``: items another
   pass holds are its business), queues by priority and oldest first (ROU-3, ROU-9);
2. it reads the eligible members of all their queues once (``eligibility.eligible_candidates``)
   and chooses in memory, item by item, by each queue's assignment method, what the pending
   offers and this pass's own choices leave free (ROU-4, ROU-6, ROU-7, ROU-9); agents who declined
   an item come last for it;
3. it locks the chosen agents by primary key (core.locks order: work items, then agents), reads
   them again under those locks and keeps only the choices that still fit, so two passes never
   overbook an agent (each pass sees the other's committed offers once it holds the agents);
4. it writes the offers, the items' move to *offered* and the notifications in bulk, schedules
   each offer's timeout (a deadline column, a task on commit, and the sweep, REL-2), and gives
   the work at once where the workstream or template accepts automatically (NOT-5) or a returning
   conversation goes back to its agent (ROU-12).

Queries per pass do not grow with the batch: a fixed number of reads and bulk writes, plus the
per-item work of an automatic accept or a hand-back (the conversation's side of an assignment).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import AgentProfile
from core.locks import lock_rows
from notifications.selectors import template_for
from notifications.services import notification_raise_for_offer, notifications_raise_for_offers
from routing.models import Offer, Queue, WorkItem, Workstream
from routing.services.assignment import (
    offer_accepted_publish,
    offer_scenario,
    offer_transition,
    offers_timeout_schedule,
    work_item_assign,
)
from routing.services.capacity import dispatch_on_commit
from routing.services.continuity import work_item_hand_back, work_item_is_returning
from routing.services.eligibility import Candidate, eligible_candidates
from routing.states import WORK_ITEM

OFFER, AUTO, GIVE = "offer", "auto", "give"
#: Passes one call runs again at once when its choices were contended.
RETRIES = 2


def offers_dispatch(*, queue_ids: list[int] | None = None, agent_id: int | None = None, limit: int = 200) -> int:
    """Offer queued push work to eligible agents, queues by priority, oldest first (ROU-9, ROU-11).

    ``queue_ids``: only these queues; ``agent_id``: only the queues this agent is a member of
    (the agent became free). One transaction; any number of passes may run at once. Returns how
    many offers it made (an automatic accept counts, a hand-back of returning work does not).
    """
    offered = 0
    for _attempt in range(RETRIES + 1):
        with transaction.atomic():
            dispatch_pass = _Pass(limit=limit)
            offered += dispatch_pass.run(queue_ids=queue_ids, agent_id=agent_id)
        if not dispatch_pass.retry_queues:
            return offered
        # Some choices did not hold under the agents' locks (another pass or an accept got there
        # first), or agents given work at once may take more: choose again from what is now true.
        queue_ids, agent_id = sorted(dispatch_pass.retry_queues), None
    dispatch_on_commit(queue_ids=queue_ids)  # still contended: a later pass takes it up (ROU-11)
    return offered


def work_item_closest_match_dispatch(*, work_item_id: int) -> int:
    """The closest-match moment of a work item came (ROU-4): offer its queue's work again, now with
    the nearest match allowed. Early, repeated or late calls (the item was taken) change nothing.
    Returns how many offers were made."""
    work_item = (
        WorkItem.objects.filter(pk=work_item_id, status=WorkItem.Status.QUEUED).select_related("workstream").first()
    )
    if work_item is None or not closest_match_due(work_item, now=timezone.now()):
        return 0
    return offers_dispatch(queue_ids=[work_item.queue_id])


def closest_match_due(work_item: WorkItem, *, now: datetime) -> bool:
    """Whether the item's wait for an exact skill match is over (ROU-4, closest matching only)."""
    return (
        work_item.workstream.skill_matching == Workstream.SkillMatching.CLOSEST
        and work_item.closest_match_at is not None
        and work_item.closest_match_at <= now
    )


def _never_first(moment: datetime | None) -> tuple:
    """Sort key of a moment where "never" comes first (nulls first)."""
    return (0, 0.0) if moment is None else (1, moment.timestamp())


def method_key(method: str, candidate: Candidate) -> tuple:
    """Where the agent stands in a queue of this assignment method, best first (ROU-9)."""
    if method == Queue.AssignmentMethod.ROUND_ROBIN:
        return (_never_first(candidate.last_assigned_at), candidate.pk)
    if method == Queue.AssignmentMethod.LONGEST_IDLE:
        return (_never_first(candidate.last_work_ended_at), _never_first(candidate.last_assigned_at), candidate.pk)
    return (-candidate.free, _never_first(candidate.last_assigned_at), candidate.pk)


@dataclass
class _Ranking:
    """A queue's eligible members in its method's order, kept sorted as the pass gives them work."""

    method: str
    entries: list[tuple] = field(default_factory=list)  # (key, agent id), sorted
    keys: dict[int, tuple] = field(default_factory=dict)

    def put(self, candidate: Candidate) -> None:
        key = method_key(self.method, candidate)
        self.keys[candidate.pk] = key
        bisect.insort(self.entries, (key, candidate.pk))

    def drop(self, pk: int) -> None:
        key = self.keys.pop(pk, None)
        if key is not None:
            del self.entries[bisect.bisect_left(self.entries, (key, pk))]


@dataclass
class _Choice:
    work_item: WorkItem
    agent_id: int
    action: str


class _Pass:
    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.now = timezone.now()
        self.workstreams: dict[int, Workstream] = {}
        self.allowed: dict[int, frozenset[int]] = {}
        self.templates: dict[tuple[int, str], object] = {}
        self.retry_queues: set[int] = set()

    # --- 1. the batch -------------------------------------------------------------------------

    def _open_queues(self, queue_ids: list[int] | None, agent_id: int | None) -> list[Queue]:
        queues = Queue.objects.filter(is_active=True)
        if queue_ids is not None:
            queues = queues.filter(pk__in=queue_ids)
        if agent_id is not None:
            queues = queues.filter(memberships__agent_id=agent_id)
        queues = list(
            queues.select_related("operating_hours")
            .prefetch_related("operating_hours__windows", "operating_hours__holidays")
            .order_by("priority", "pk")
        )
        return [q for q in queues if q.operating_hours is None or q.operating_hours.is_open_at(self.now)]

    def _batch(self, queues: list[Queue]) -> list[WorkItem]:
        """Lock up to ``limit`` queued push items, queues by priority, oldest first. Each queue's
        oldest items are read by the (status, queue, enqueued_at) index; a priority level's queues
        are merged by age; lower levels are read only while the batch has room."""
        chosen: list[int] = []
        by_priority: dict[int, list[Queue]] = {}
        for queue in queues:
            by_priority.setdefault(queue.priority, []).append(queue)
        for priority in sorted(by_priority):
            level = []
            for queue in by_priority[priority]:
                level += list(
                    WorkItem.objects.filter(
                        queue_id=queue.pk,
                        status=WorkItem.Status.QUEUED,
                        workstream__distribution=Workstream.Distribution.PUSH,
                    )
                    .order_by("enqueued_at", "pk")
                    .values_list("enqueued_at", "pk")[: self.limit - len(chosen)]
                )
            chosen += [pk for _at, pk in sorted(level)[: self.limit - len(chosen)]]
            if len(chosen) >= self.limit:
                break
        if not chosen:
            return []
        rank = {pk: index for index, pk in enumerate(chosen)}
        locked = list(
            WorkItem.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(pk__in=chosen, status=WorkItem.Status.QUEUED)
            .order_by("pk")
        )
        return sorted(locked, key=lambda item: rank[item.pk])

    def _load_workstreams(self, items: list[WorkItem]) -> None:
        ids = {item.workstream_id for item in items}
        for workstream in Workstream.objects.filter(pk__in=ids).prefetch_related("allowed_presences"):
            self.workstreams[workstream.pk] = workstream
            self.allowed[workstream.pk] = frozenset(p.pk for p in workstream.allowed_presences.all())
        for item in items:
            item.workstream = self.workstreams[item.workstream_id]

    # --- 2. choosing in memory ----------------------------------------------------------------

    def run(self, *, queue_ids: list[int] | None, agent_id: int | None) -> int:
        queues = {queue.pk: queue for queue in self._open_queues(queue_ids, agent_id)}
        items = self._batch(list(queues.values()))
        if not items:
            return 0
        self._load_workstreams(items)
        skills_of: dict[int, frozenset[int]] = {item.pk: frozenset() for item in items}
        through = WorkItem.skills.through.objects.filter(workitem_id__in=list(skills_of))
        pairs: dict[int, set[int]] = {}
        for work_item_id, skill_id in through.values_list("workitem_id", "skill_id"):
            pairs.setdefault(work_item_id, set()).add(skill_id)
        skills_of.update({pk: frozenset(skills) for pk, skills in pairs.items()})
        declined: dict[int, set[int]] = {}
        for work_item_id, declined_by in Offer.objects.filter(
            work_item_id__in=list(skills_of), status__in=[Offer.Status.REJECTED, Offer.Status.TIMED_OUT]
        ).values_list("work_item_id", "agent_id"):
            declined.setdefault(work_item_id, set()).add(declined_by)
        candidates = self._read_candidates(items, skills_of)
        choices = self._choose(items, queues, candidates, skills_of, declined)
        if not choices:
            return 0
        choices = self._confirm(choices, items, skills_of)
        return self._write(choices)

    def _needs_skills(self, item: WorkItem, skills_of: dict[int, frozenset[int]]) -> bool:
        return bool(skills_of[item.pk]) and item.workstream.skill_matching != Workstream.SkillMatching.NONE

    def _read_candidates(
        self, items: list[WorkItem], skills_of, agent_ids: list[int] | None = None
    ) -> dict[int, Candidate]:
        return eligible_candidates(
            queue_ids=sorted({item.queue_id for item in items}),
            allowed_presences=[self.allowed[pk] for pk in {item.workstream_id for item in items}],
            min_units=min(item.capacity_units for item in items),
            with_skills=any(self._needs_skills(item, skills_of) for item in items),
            agent_ids=agent_ids,
        )

    def _choose(self, items, queues, candidates, skills_of, declined) -> list[_Choice]:
        rankings: dict[int, _Ranking] = {}
        for queue_id in {item.queue_id for item in items}:
            rankings[queue_id] = ranking = _Ranking(queues[queue_id].assignment_method)
            for candidate in candidates.values():
                if queue_id in candidate.queues:
                    ranking.put(candidate)
        no_room: set[tuple] = set()
        held_back: set[int] = set()  # given work at once: their presence may follow (ROU-8)
        choices: list[_Choice] = []
        for item in items:
            ranking = rankings[item.queue_id]
            needs = skills_of[item.pk] if self._needs_skills(item, skills_of) else frozenset()
            closest = bool(needs) and closest_match_due(item, now=self.now)
            returning = item.keep_agent_until is not None and work_item_is_returning(item)
            kind = (item.queue_id, item.workstream_id, item.capacity_units, needs, closest)
            if not returning and kind in no_room:
                if held_back:
                    self.retry_queues.add(item.queue_id)
                continue

            def fits(pk: int, item=item, needs=needs, closest=closest) -> bool:
                candidate = candidates[pk]
                return (
                    pk not in held_back
                    and candidate.fits(item.capacity_units)
                    and candidate.presence_allowed(self.allowed[item.workstream_id])
                    and (closest or needs <= candidate.skills.keys())
                )

            agent_id = self._best(ranking, fits, declined.get(item.pk, set()), candidates, needs, closest)
            if returning:
                previous = item.previous_agent_id
                keep = item.workstream.keep_same_agent and previous is not None
                if keep and previous in ranking.keys and fits(previous):
                    agent_id = previous  # ROU-12: the previous agent first
                elif keep and item.keep_agent_until > self.now:
                    continue  # waits for the previous agent (PER-8)
                action = GIVE
            elif item.workstream.auto_accept or self._template(item).auto_accept:
                action = AUTO
            else:
                action = OFFER
            if agent_id is None:
                if not returning:
                    no_room.add(kind)
                if held_back:  # someone given work at once may have been the one
                    self.retry_queues.add(item.queue_id)
                continue
            choices.append(_Choice(item, agent_id, action))
            candidate = candidates[agent_id]
            for queue_id in candidate.queues & rankings.keys():
                rankings[queue_id].drop(agent_id)
            if action == OFFER:
                candidate.reserved_units += item.capacity_units
                candidate.reserved_sessions += 1
                for queue_id in candidate.queues & rankings.keys():
                    rankings[queue_id].put(candidate)
            else:
                # Given at once: capacity, sessions and presence move under the agent's lock in
                # work_item_assign; the pass offers them nothing more, the next pass will.
                held_back.add(agent_id)
        return choices

    @staticmethod
    def _best(ranking: _Ranking, fits, declined: set[int], candidates, needs, closest) -> int | None:
        """The first agent of the ranking the item fits, those who declined it last (ROU-9);
        with the closest match due, most of the needed skills first, then proficiency (ROU-4)."""
        if closest:
            best = [
                (pk in declined, -len(needs & candidates[pk].skills.keys()), -_proficiency(candidates[pk], needs), key)
                + (pk,)
                for key, pk in ranking.entries
                if fits(pk)
            ]
            return min(best)[-1] if best else None
        for _key, pk in ranking.entries:
            if pk not in declined and fits(pk):
                return pk
        for _key, pk in sorted((ranking.keys[pk], pk) for pk in declined if pk in ranking.keys):
            if fits(pk):
                return pk
        return None

    def _template(self, item: WorkItem):
        """The workstream's template for the item's scenario, looked up once per pass (NOT-2)."""
        scenario = offer_scenario(item)
        key = (item.workstream_id, scenario)
        if key not in self.templates:
            self.templates[key] = template_for(workstream=item.workstream, scenario=scenario)
        return self.templates[key]

    # --- 3. confirming under the agents' locks ------------------------------------------------

    def _confirm(self, choices: list[_Choice], items: list[WorkItem], skills_of) -> list[_Choice]:
        """Lock the chosen agents (primary-key order, after the items) and keep the choices that
        still fit what they hold now: another pass may have offered them work meanwhile."""
        self.agents = lock_rows(AgentProfile.objects.all(), [choice.agent_id for choice in choices])
        fresh = self._read_candidates(items, skills_of, agent_ids=sorted(self.agents))
        kept = []
        for choice in choices:
            item, candidate = choice.work_item, fresh.get(choice.agent_id)
            if (
                candidate is not None
                and item.queue_id in candidate.queues
                and candidate.fits(item.capacity_units)
                and candidate.presence_allowed(self.allowed[item.workstream_id])
            ):
                kept.append(choice)
                candidate.reserved_units += item.capacity_units
                candidate.reserved_sessions += 1
            else:
                self.retry_queues.add(item.queue_id)
        return kept

    # --- 4. writing ---------------------------------------------------------------------------

    def _write(self, choices: list[_Choice]) -> int:
        offered = [choice for choice in choices if choice.action != GIVE]
        now = timezone.now()
        offers = Offer.objects.bulk_create(
            Offer(
                work_item=choice.work_item,
                agent_id=choice.agent_id,
                created_at=now,
                expires_at=now + timedelta(seconds=self._template(choice.work_item).timeout_seconds),
            )
            for choice in offered
        )
        _work_items_offer([choice.work_item for choice in offered])
        pending = [offer for offer, choice in zip(offers, offered, strict=True) if choice.action == OFFER]
        notifications_raise_for_offers(
            offers=pending,
            scenarios={offer.pk: offer_scenario(offer.work_item) for offer in pending},
            templates=self.templates,
        )
        offers_timeout_schedule(pending)
        for offer, choice in zip(offers, offered, strict=True):
            if choice.action == AUTO:  # NOT-5: accepted on creation; a toast opens the session
                agent = self.agents[choice.agent_id]
                offer_transition(offer, to=Offer.Status.ACCEPTED)
                notification_raise_for_offer(
                    offer=offer,
                    scenario=offer_scenario(offer.work_item),
                    automatic=True,
                    template=self._template(offer.work_item),
                )
                work_item_assign(offer.work_item, agent=agent)
                offer_accepted_publish(offer, offer.work_item, agent, automatic=True)
        for choice in choices:
            if choice.action == GIVE:
                work_item_hand_back(work_item=choice.work_item, agent=self.agents[choice.agent_id])
        return len(offered)


def _proficiency(candidate: Candidate, skills: Iterable[int]) -> int:
    return sum(candidate.skills.get(skill, 0) for skill in skills)


def _work_items_offer(work_items: list[WorkItem]) -> None:
    """Move locked queued items to *offered* in one statement (the work-item machine's move)."""
    if not work_items:
        return
    WORK_ITEM.check(WorkItem.Status.QUEUED, WorkItem.Status.OFFERED)
    WorkItem.objects.filter(pk__in=[item.pk for item in work_items]).update(status=WorkItem.Status.OFFERED)
    for item in work_items:
        item.status = WorkItem.Status.OFFERED
