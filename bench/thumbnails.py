"""Thumbnail benchmark: time and peak RSS per 12 MP image, FlowHub's thumbnailer against the
obvious Pillow code (open, full decode, `thumbnail()` per size, save) measured in the same run,
and the concurrency a 512 MB machine holds.

    .venv/bin/python -m bench.thumbnails            # 5 runs per format and method
    .venv/bin/python -m bench.thumbnails --quick    # 2 runs

Each (format, method) runs in a fresh Python process: the 12 MP source (4000 x 3000, a
gradient with noise, like a photo) is made and encoded first, then the process's VmHWM is
reset (/proc/self/clear_refs) and the thumbnails are made `runs` times; peak = VmHWM minus the
RSS just before, time = the median run. The three sizes (64 square, 256, 1024) as WebP both
ways. Concurrency held = (512 MiB - the server's peak during 16 concurrent logins, README
"Benchmarks") / the largest per-image peak. Results go to stdout and
bench/results/thumbnails-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import fmt, git_revision, markdown_table, reset_peak_rss, status_kib

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 4000, 3000
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MACHINE_MIB = 512
SERVER_PEAK_MIB = 173.5  # README "Benchmarks": the server during 16 concurrent logins


def source(kind: str) -> bytes:
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    noise = Image.effect_noise((WIDTH, HEIGHT), 24)
    image = Image.merge(
        "RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    out = io.BytesIO()
    quality = {"JPEG": 90, "WEBP": 85}.get(kind)
    if quality is None:
        image.save(out, kind)
    else:
        image.save(out, kind, quality=quality)
    return out.getvalue()


def naive(data: bytes) -> int:
    """What a first version writes: decode it all, then resize a copy per size."""
    from PIL import Image, ImageOps

    made = 0
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    for size, square in ((1024, False), (256, False), (64, True)):
        if square:
            thumb = ImageOps.fit(upright, (size, size))
        else:
            thumb = upright.copy()
            thumb.thumbnail((size, size))
        out = io.BytesIO()
        thumb.save(out, "WEBP", quality=80)
        made += 1
    return made


def flowhub(data: bytes) -> int:
    from adapters.pillow.thumbnails import make_thumbnails
    from domain.files.model import THUMBNAIL_SPECS

    return len(make_thumbnails(data, THUMBNAIL_SPECS, 25_000_000, time.monotonic() + 600))


def worker(kind: str, method: str, runs: int) -> dict[str, float]:
    import PIL.Image
    import PIL.ImageOps
    import PIL.WebPImagePlugin  # noqa: F401  (imports are not what is measured)

    data = source(kind)
    job = naive if method == "naive" else flowhub
    gc.collect()
    pid = os.getpid()
    before = status_kib(pid, ("VmRSS",))["VmRSS"]
    if not reset_peak_rss(pid):
        raise SystemExit("cannot reset VmHWM on this kernel")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        made = job(data)
        times.append(time.perf_counter() - start)
    peak = status_kib(pid, ("VmHWM",))["VmHWM"]
    return {
        "bytes": len(data),
        "made": made,
        "ms": statistics.median(times) * 1000,
        "peak_mib": (peak - before) / 1024,
    }


def measure(kind: str, method: str, runs: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.thumbnails", "--worker", kind, method, str(runs)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    answer: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("FORMAT", "METHOD", "RUNS"))
    args = parser.parse_args()
    if args.worker:
        kind, method, runs = args.worker
        print(json.dumps(worker(kind, method, int(runs))))
        return
    runs = 2 if args.quick else 5
    rows, worst = [], 0.0
    for kind in FORMATS:
        base = measure(kind, "naive", runs)
        ours = measure(kind, "flowhub", runs)
        worst = max(worst, ours["peak_mib"])
        rows.append([
            kind, f"{base['bytes'] / 1e6:.1f} MB", str(int(ours["made"])),
            fmt(base["ms"]), fmt(ours["ms"]), f"{ours['ms'] / base['ms']:.2f}x",
            fmt(base["peak_mib"], 1), fmt(ours["peak_mib"], 1),
            f"{ours['peak_mib'] / base['peak_mib']:.2f}x",
        ])  # fmt: skip
    header = [
        "12 MP source", "size", "thumbs", "naive ms", "FlowHub ms", "time ratio",
        "naive peak MiB", "FlowHub peak MiB", "peak ratio",
    ]  # fmt: skip
    budget = MACHINE_MIB - SERVER_PEAK_MIB
    lines = [
        f"# Thumbnails, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {git_revision(ROOT)}, "
        f"{runs} runs, {os.cpu_count()} cores",
        "",
        *markdown_table(header, rows),
        "",
        f"Concurrency a {MACHINE_MIB} MB machine holds: ({MACHINE_MIB} - {SERVER_PEAK_MIB}) MiB"
        f" / {worst:.1f} MiB (worst FlowHub peak) = {int(budget // worst) if worst else '-'}",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / f"thumbnails-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
