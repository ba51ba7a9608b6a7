"""The one optimisation loop every world-model stage runs; the stages supply only what differs.

Each stage (question encoder, generator rounds, joint RAG) is: AdamW, a learning rate that warms up
linearly and then decays linearly, epochs of freshly shuffled batches, gradient clipping at norm 1,
a loss logged as a running mean, and callbacks every so many steps. Only the batches, the loss, the
parameter groups and the callbacks differ.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def warmup_linear_decay(total: int, warmup: int, floor: float = 0.0) -> Callable[[int], float]:
    """Multiplier of the base learning rate at step s (LambdaLR):
        min(1, (s+1)/warmup) · max(floor, (total-s)/(total-warmup))"""
    return lambda s: min(1.0, (s + 1) / warmup) * max(floor, (total - s) / max(1, total - warmup))


def shuffled_batches(rng: random.Random, items: Sequence[T], batch_size: int) -> Iterator[list[T]]:
    """One epoch: `items` in a fresh random order, in full batches (a last short batch is dropped)."""
    order = list(range(len(items)))
    rng.shuffle(order)
    for start in range(0, len(order) - batch_size + 1, batch_size):
        yield [items[i] for i in order[start : start + batch_size]]


@dataclass
class Every:
    """Calls `fn(step)` every `steps` steps and after the last one, with the modules in eval mode."""

    steps: int
    fn: Callable[[int], None]


@dataclass
class TrainingLoop:
    """`name` labels the log lines; `modules` are put in train mode for the loop and eval mode after it."""

    name: str
    modules: Sequence[Any]
    param_groups: list[dict[str, Any]]
    total: int
    warmup: int
    floor: float = 0.0
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    log_every: int = 50
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("modelkit.train"))
    callbacks: Sequence[Every] = ()
    # Parameters whose gradient norm is clipped, when not all of param_groups' (their order sets the
    # summation order of the norm, so a stage keeps the order it was trained with).
    clip: Sequence[Any] | None = None
    # A note after the step count in the log line (e.g. which curriculum phase the step was in).
    note: Callable[[int], str] = field(default=lambda step: "")

    def run(self, epoch: Callable[[], Iterable[T]], loss_of: Callable[[T, int], Any]) -> list[float]:
        """Steps through `epoch()` (called again for each new epoch) until `total` steps; `loss_of(batch,
        step)` returns the scalar loss tensor of one batch. Returns every step's loss."""
        import torch

        optimiser = torch.optim.AdamW(self.param_groups, weight_decay=self.weight_decay, betas=self.betas)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, warmup_linear_decay(self.total, self.warmup, self.floor))
        params = list(self.clip) if self.clip is not None else [p for group in self.param_groups for p in group["params"]]
        self._train_mode(True)
        losses: list[float] = []
        step = 0
        started = time.monotonic()
        while step < self.total:
            for batch in epoch():
                if step >= self.total:
                    break
                loss = loss_of(batch, step)
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimiser.step()
                schedule.step()
                losses.append(float(loss.detach()))
                step += 1
                last = step == self.total
                if step % self.log_every == 0 or last:
                    self.logger.info(
                        "%s step %d/%d%s loss %.4f (%.0fs)", self.name, step, self.total, self.note(step - 1),
                        np.mean(losses[-self.log_every :]), time.monotonic() - started,
                    )
                for cb in self.callbacks:
                    if step % cb.steps == 0 or last:
                        self._train_mode(False)
                        cb.fn(step)
                        self._train_mode(True)
        self._train_mode(False)
        return losses

    def _train_mode(self, on: bool) -> None:
        for m in self.modules:
            m.train(on)


def loss_summary(losses: list[float], window: int, seconds: float | None = None) -> dict[str, Any]:
    """What a stage's metrics.json records of its losses: first, mean of the last `window`, steps, time."""
    tail = losses[-window:]
    out: dict[str, Any] = {"first": round(losses[0], 4), f"last{window}": round(sum(tail) / len(tail), 4), "steps": len(losses)}
    if seconds is not None:
        out["trainSeconds"] = round(seconds)
    return out
