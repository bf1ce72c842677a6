#!/usr/bin/python3
"""Latency against rate from hookpipe-delivery-bench e2e output.

Usage: benchmarks/plot_latency.py OUT.png (Debian's /usr/bin/python3, where python3-matplotlib is)
        LABEL=FILE [LABEL=FILE ...]

Each FILE is the output of one or more `hookpipe-delivery-bench <binary> e2e` runs; every
"e2e latency at P % of peak, fan-out F: R deliveries/s ..." line in it is a point. One
series per label and fan-out: p50 and p99 (and max, dotted) in ms against deliveries/s,
log scale, with the 50 ms p99 target drawn. Needs python3-matplotlib (Debian).
"""
import re
import sys

LINE = re.compile(
    r"e2e latency at (\d+) % of peak, fan-out (\d+): (\d+) deliveries/s .*?"
    r"p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms")


def points(path):
    with open(path, encoding="utf-8") as f:
        for m in LINE.finditer(f.read()):
            pct, fanout, rate, p50, p99, top = m.groups()
            yield int(fanout), int(pct), float(rate), float(p50), float(p99), float(top)


def main(argv):
    if len(argv) < 3 or any("=" not in a for a in argv[2:]):
        sys.exit(__doc__)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("needs matplotlib: apt-get install python3-matplotlib")
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4)
    plotted = 0
    for arg in argv[2:]:
        label, path = arg.split("=", 1)
        series = {}
        for fanout, _, rate, p50, p99, top in points(path):
            series.setdefault(fanout, []).append((rate, p50, p99, top))
        for fanout, pts in sorted(series.items()):
            pts.sort()
            colour = next(colours)
            rates = [p[0] for p in pts]
            name = f"{label}, fan-out {fanout}"
            ax.plot(rates, [p[2] for p in pts], "o-", color=colour, label=f"{name}: p99")
            ax.plot(rates, [p[1] for p in pts], "s--", color=colour, alpha=0.7,
                    label=f"{name}: p50")
            ax.plot(rates, [p[3] for p in pts], ":", color=colour, alpha=0.5,
                    label=f"{name}: max")
            plotted += len(pts)
    if plotted == 0:
        sys.exit("no 'e2e latency at' lines in the files given")
    ax.axhline(50, color="grey", linewidth=1, linestyle="-.", label="p99 target, 50 ms")
    ax.set_yscale("log")
    ax.set_xlabel("paced deliveries/s")
    ax.set_ylabel("publish-to-receipt latency, ms")
    ax.set_title("hookpipe: latency against rate (hookpipe-delivery-bench e2e)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    print(f"{argv[1]}: {plotted} points")


if __name__ == "__main__":
    main(sys.argv)
