"""Draws the benchmark plots from bench/results/latest.json into bench/results/*.svg.

Run by bench/run.sh with bench/.venv's Python (matplotlib pinned in bench/requirements.txt).
The SVGs are written without dates or random ids, so a rerun with the same numbers gives
the same files.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "tollgate-bench"
matplotlib.rcParams["font.size"] = 10

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
COLORS = {"tollgate": "#1f6feb", "tollgate_with_assets": "#9ecbff", "hono": "#f0883e", "fastapi": "#3fb950", "bare": "#8b949e"}
# Tollgate runs twice (bench/lib/fleet.mjs): "tollgate" is the API-only configuration, judged
# against the peers; "tollgate_with_assets" is wrangler.toml as shipped, asset router in front.
LABELS = {"tollgate": "tollgate\n(API only)", "tollgate_with_assets": "tollgate\nas shipped\n(asset router)"}


def label(name):
    return LABELS.get(name, name)


def save(fig, name):
    fig.tight_layout()
    fig.savefig(RESULTS / name, format="svg", metadata={"Date": None})
    plt.close(fig)


def throughput(r):
    h = r["http"]
    me_title = "/me (bare = one KV read, no token)" if "bare" in h["me"] else "/me"
    groups = [("stateless (/auth/claims)", h["stateless"]), (me_title, h["me"])]
    # /health on both Workers beside a Worker that does nothing ("bare"): the floor.
    if "floor" in h:
        groups.append(("/health (floor; bare = do-nothing Worker)", h["floor"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.8 * len(groups), 4))
    for ax, (title, data) in zip(axes, groups):
        names = list(data.keys())
        medians = [data[n]["rps_median"] for n in names]
        ax.bar(range(len(names)), medians, color=[COLORS.get(n, "#888") for n in names])
        ax.set_xticks(range(len(names)), [label(n) for n in names], fontsize=8)
        for i, n in enumerate(names):
            runs = data[n]["rps_runs"]
            ax.scatter([i] * len(runs), runs, color="black", s=8, zorder=3)
            ax.annotate(f"{medians[i]:.0f}", (i, medians[i]), ha="center", va="bottom", fontsize=9)
        ax.set_title(title)
        ax.set_ylabel("requests/s (median; dots = runs)")
    fig.suptitle("Throughput on loopback, wrk, same machine, same run")
    save(fig, "throughput.svg")


def latency(r):
    h = r["http"]
    l = h["login"]
    names = list(l.keys())
    fig, ax = plt.subplots(figsize=(6, 3.6))
    width = 0.38
    for j, (key, which) in enumerate([("p50_ms", "p50"), ("p99_ms", "p99")]):
        xs = [i + (j - 0.5) * width for i in range(len(names))]
        vals = [l[n][key] for n in names]
        ax.bar(xs, vals, width, label=which, color=[COLORS.get(n, "#888") for n in names], alpha=1.0 if j == 0 else 0.55)
        for x, v in zip(xs, vals):
            ax.annotate(f"{v:.0f}", (x, v), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(names)), [label(n) for n in names])
    ax.set_ylabel("ms (median of runs)")
    ax.set_title("Login latency, one connection, argon2id m=19456 t=2 p=1\n(solid p50, light p99)")
    save(fig, "login-latency.svg")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (title, data) in zip(axes, [("stateless", h["stateless"]), ("/me", h["me"])]):
        names = list(data.keys())
        p50 = [data[n]["latency_p50_us_median"] / 1000 for n in names]
        p99 = [data[n]["latency_p99_us_median"] / 1000 for n in names]
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], p50, 0.4, color=[COLORS.get(n, "#888") for n in names], label="p50")
        ax.bar([x + 0.2 for x in xs], p99, 0.4, color=[COLORS.get(n, "#888") for n in names], alpha=0.55, label="p99")
        ax.set_xticks(list(xs), [label(n) for n in names], fontsize=8)
        ax.set_title(f"{title}: latency under load")
        ax.set_ylabel("ms (solid p50, light p99)")
    save(fig, "route-latency.svg")


def hashing(r):
    x = r["hashing"]
    items = [
        ("workerd (wasm)", x["workerd_wasm_ms"]),
        ("native argon2 crate", x["native_argon2_crate_ms"]),
        ("argon2-cffi (C)", x["argon2_cffi_ms"]),
    ]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    names = [n for n, _ in items]
    meds = [v["median"] for _, v in items]
    ax.barh(names, meds, color=["#1f6feb", "#8b949e", "#3fb950"])
    for i, (_, v) in enumerate(items):
        ax.scatter(v["runs"], [i] * len(v["runs"]), color="black", s=6, zorder=3)
        ax.annotate(f"{meds[i]:.1f} ms", (max(v["runs"] + [meds[i]]), i), xytext=(6, 0), textcoords="offset points", va="center", ha="left", fontsize=9)
    ax.set_xlim(0, max(max(v["runs"]) for _, v in items) * 1.18)
    ax.invert_yaxis()
    ax.set_xlabel("ms per argon2id hash, m=19456 t=2 p=1 (median; dots = runs)")
    save(fig, "argon2.svg")


def decode(r):
    c = r.get("client") or {}
    if c.get("skipped", True):
        return False
    d = c["decode"]
    names = list(d.keys())
    vals = [d[n]["ops_per_second"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh(names, vals, color=["#1f6feb", "#8b949e", "#8b949e"])
    for i, v in enumerate(vals):
        ax.scatter(d[names[i]]["ops_per_second_runs"], [i] * len(d[names[i]]["ops_per_second_runs"]), color="black", s=6, zorder=3)
        ax.annotate(f"{v:,.0f}", (max(d[names[i]]["ops_per_second_runs"] + [v]), i), xytext=(6, 0), textcoords="offset points", va="center", ha="left", fontsize=9)
    ax.set_xlim(0, max(max(d[n]["ops_per_second_runs"]) for n in names) * 1.2)
    ax.invert_yaxis()
    ax.set_xlabel("decodes per second in headless Chromium (median; dots = rounds)")
    save(fig, "client-decode.svg")
    return True


def load(r):
    """Throughput and p99 against connections (bench/sections/load.mjs)."""
    data = r["load"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, by_conn in data.items():
        conns = sorted(int(c) for c in by_conn)
        a.plot(conns, [by_conn[str(c)]["rps_median"] for c in conns], marker="o", color=COLORS.get(name), label=label(name).replace("\n", " "))
        b.plot(conns, [by_conn[str(c)]["p99_ms"] for c in conns], marker="o", color=COLORS.get(name), label=label(name).replace("\n", " "))
    for ax, ylabel in ((a, "/me req/s (median)"), (b, "/me p99 latency, ms")):
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 8, 64], ["1", "8", "64"])
        ax.set_xlabel("connections")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
    a.legend(fontsize=8)
    save(fig, "load.svg")


def scale(r):
    """Cost against the number of users (bench/sections/scale.mjs): each figure over its value at 1,000."""
    sc = r["scale"]
    users = sc["users"]
    by = sc["by_users"]
    series = {
        "login p50": [by[str(n)]["login"]["p50_ms"] for n in users],
        "refresh p50": [by[str(n)]["refresh"]["p50_ms"] for n in users],
        "/me cost (1/req/s)": [1 / by[str(n)]["me"]["rps_median"] for n in users],
        "admin page p50": [by[str(n)]["admin_page"]["p50_ms"] for n in users],
    }
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, vals in series.items():
        ax.plot(users, [v / vals[0] for v in vals], marker="o", label=name)
    ax.axhline(1.2, color="#cf222e", linestyle="--", linewidth=1, label="goal: at most 1.2x")
    ax.set_xscale("log")
    ax.set_xticks(users, [f"{n:,}" for n in users])
    ax.set_xlabel("users in KV")
    ax.set_ylabel("cost relative to 1,000 users")
    ax.set_ylim(0, max(1.5, max(v / vals[0] for vals in series.values() for v in vals) * 1.1))
    ax.legend(fontsize=8)
    save(fig, "scale.svg")


def main():
    r = json.loads((RESULTS / "latest.json").read_text())
    made = []
    if r.get("http"):
        throughput(r)
        latency(r)
        made += ["throughput.svg", "login-latency.svg", "route-latency.svg"]
    if r.get("hashing"):
        hashing(r)
        made.append("argon2.svg")
    if r.get("load"):
        load(r)
        made.append("load.svg")
    if r.get("scale"):
        scale(r)
        made.append("scale.svg")
    stale = RESULTS / "client-decode.svg"
    if decode(r):
        made.append("client-decode.svg")
    elif stale.exists():
        stale.unlink()
    print("plots:", ", ".join(made), file=sys.stderr)


if __name__ == "__main__":
    main()
