"""A coarse description of the client behind a request ("Firefox on Linux"), for the user's
session list: enough to recognise one's own devices, never the raw User-Agent (it is a
fingerprint, and it is whatever the client wants it to be)."""

from __future__ import annotations

# the first that matches wins: Edge and Opera say Chrome too, Chrome says Safari too
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("node", "Node.js"),
    ("python", "Python"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    """`<browser> on <system>`, either part "an unknown ..." when nothing known matches."""
    agent = (user_agent or "")[:512]
    lowered = agent.lower()
    browser = next((name for mark, name in BROWSERS if mark.lower() in lowered), None)
    system = next((name for mark, name in SYSTEMS if mark.lower() in lowered), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "an unknown client"
