"""Access-token verification, with and without the memory of verified tokens (issue 21), A/B
inside one process, interleaved rounds, medians.

    .venv/bin/python -m bench.tokens [--rounds 7] [--calls 20000]

"full" is what every request paid before: PyJWT's decode (key preparation, HMAC-SHA256, JSON,
claim checks) and FlowHub's own claim checks. "remembered" is a client's second and later
requests with the same token: a dict lookup and the time checks.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from adapters.jwt.access_tokens import JwtAccessTokenCodec


def per_call_us(codec: JwtAccessTokenCodec, tokens: list[str], now: datetime) -> float:
    started = time.perf_counter()
    for token in tokens:
        codec.verify(token, now)
    return (time.perf_counter() - started) / len(tokens) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    secret = "s" * 48
    issuer = JwtAccessTokenCodec(secret)
    # Distinct tokens for "full", so each call misses the memory: a fresh codec per round.
    tokens = [issuer.issue(f"user-{n}", "session", now).token for n in range(args.calls)]
    full, remembered = [], []
    for _ in range(args.rounds):
        full.append(per_call_us(JwtAccessTokenCodec(secret), tokens, now))
        warm = JwtAccessTokenCodec(secret)
        warm.verify(tokens[0], now)
        remembered.append(per_call_us(warm, [tokens[0]] * args.calls, now))
    a, b = statistics.median(full), statistics.median(remembered)
    print(f"| verification | µs per call (median of {args.rounds}) | ratio to full |")
    print("| --- | --- | --- |")
    print(f"| full (PyJWT decode + claims) | {a:.1f} | 1.00 |")
    print(f"| remembered token | {b:.1f} | {b / a:.3f} |")


if __name__ == "__main__":
    main()
