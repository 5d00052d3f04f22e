"""The simulated peer's replies: varied, deterministic given a seed, never an echo."""

from __future__ import annotations

import hashlib
import random

from domain.chat.model import peer_id

_OPENERS = ("Sure", "Hmm", "Good point", "Interesting", "Right", "Ha", "Okay", "Got it")
_MIDDLES = (
    "I was thinking the same about",
    "tell me more about",
    "I'm not sure about",
    "let's come back to",
    "what do you mean by",
    "I like where you're going with",
)
_CLOSERS = ("?", ".", "!", " — go on.", ", honestly.")


def peer_id_of(room_id: str) -> str:
    return peer_id(room_id)


def reply(seed: int, room_id: str, seq: int, message: str) -> str:
    """A reply to `message` (the human's message with `seq` in `room_id`)."""
    digest = hashlib.sha256(f"{seed}:{room_id}:{seq}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 (not security)
    words = [w.strip(".,!?;:") for w in message.split() if len(w.strip(".,!?;:")) > 3]
    topic = rng.choice(words) if words else "that"
    return f"{rng.choice(_OPENERS)}, {rng.choice(_MIDDLES)} {topic}{rng.choice(_CLOSERS)}"


def delay_s(seed: int, room_id: str, seq: int, low: float, high: float) -> float:
    digest = hashlib.sha256(f"delay:{seed}:{room_id}:{seq}".encode()).digest()
    fraction = int.from_bytes(digest[:4], "big") / 2**32
    return low + (high - low) * fraction
