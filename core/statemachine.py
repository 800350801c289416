"""A state machine as data: the allowed moves, in one place, checked by one function.

Each app's ``states.py`` declares its machines; its services apply a move under a row lock
with :meth:`StateMachine.check` and record who and when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import IllegalTransition


@dataclass(frozen=True)
class StateMachine:
    name: str
    states: tuple[str, ...]
    moves: frozenset[tuple[str, str]]

    @classmethod
    def build(cls, name: str, states: Iterable[str], moves: dict[str, Iterable[str]]) -> StateMachine:
        states = tuple(states)
        pairs = frozenset((source, target) for source, targets in moves.items() for target in targets)
        unknown = {s for pair in pairs for s in pair} - set(states)
        if unknown:
            raise ValueError(f"{name}: moves name unknown states {sorted(unknown)}")
        return cls(name=name, states=states, moves=pairs)

    def allows(self, source: str, target: str) -> bool:
        return (source, target) in self.moves

    def targets(self, source: str) -> set[str]:
        return {target for s, target in self.moves if s == source}

    def is_final(self, state: str) -> bool:
        return not self.targets(state)

    def check(self, source: str, target: str) -> None:
        if not self.allows(source, target):
            raise IllegalTransition(
                f"A {self.name} that is {source.replace('_', ' ')} cannot become {target.replace('_', ' ')}."
            )
