#!/usr/bin/env python3
"""Turns the raw results scripts/bench collected into report.md and PNG plots (gnuplot).

usage: bench-report.py RAW_DIR OUT_DIR

RAW_DIR holds machine.json, kernels.json, engine-WORKLOAD.json, and per end-to-end count N:
rtpgen-N.json (tutti-rtpgen's result), cpu-N.json (tuttid CPU ticks over a wall-clock
window) and metrics-N.txt (tuttid's Prometheus text at the end of the window).
Standard library only; exits 1 with a message when a result is missing or malformed.
"""
import json
import os
import re
import shutil
import subprocess
import sys

# DESIGN.md's performance goals: participants per core (must reach, aim).
GOALS = {
    "pcmu-conf10": (10000, 20000),
    "opus48-conf10": (100, 250),
    "opus48-conf10-levels": (300, 600),
    "opus48-large": (5000, 20000),
}
TARGET_BUSY = 0.8  # the load engine figures are quoted at


def load(path):
    with open(path) as f:
        return json.load(f)


def metric_samples(text):
    """Prometheus text -> list of (name, {label: value}, float)."""
    out = []
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        m = line_re.match(line)
        if not m:
            continue
        labels = dict(label_re.findall(m.group(2) or ''))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def tick_histogram(text):
    """Worker 0's tick histogram: [(upper bound in us or inf, ticks in that bucket)]."""
    cumulative = []
    for name, labels, v in metric_samples(text):
        if name == 'tutti_worker_tick_duration_seconds_bucket' and labels.get('worker') == '0':
            le = labels['le']
            cumulative.append((float('inf') if le == '+Inf' else float(le) * 1e6, v))
    if not cumulative:
        raise ValueError('no tutti_worker_tick_duration_seconds_bucket samples for worker 0')
    cumulative.sort()
    buckets, before = [], 0.0
    for bound, c in cumulative:
        buckets.append((bound, c - before))
        before = c
    return buckets


def fmt(v, digits=1):
    if v is None:
        return '-'
    if isinstance(v, int):
        return f'{v:,}'
    return f'{v:,.{digits}f}'


def table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(' --- ' for _ in header) + '|']
    for r in rows:
        lines.append('| ' + ' | '.join(str(c) for c in r) + ' |')
    return '\n'.join(lines) + '\n'


def gnuplot(script, out_dir):
    exe = shutil.which('gnuplot')
    if not exe:
        raise RuntimeError('gnuplot is not installed (scripts/setup installs gnuplot-nox)')
    # pngcairo draws smoother text; the libgd png terminal is the fallback.
    probe = subprocess.run([exe, '-e', 'set terminal pngcairo'], capture_output=True, text=True)
    term = 'pngcairo size 900,540 font "sans,10"' if probe.returncode == 0 and not probe.stderr.strip() \
        else 'png size 900,540'
    r = subprocess.run([exe], input=f'set terminal {term}\n' + script, capture_output=True, text=True,
                       cwd=out_dir)
    if r.returncode != 0:
        raise RuntimeError('gnuplot failed: ' + r.stderr.strip())


def main(raw, out):
    machine = load(os.path.join(raw, 'machine.json'))
    quick = machine['quick']
    kernels = load(os.path.join(raw, 'kernels.json'))
    engine = {}
    for w in GOALS:
        engine[w] = load(os.path.join(raw, f'engine-{w}.json'))
    counts = sorted(int(m.group(1)) for f in os.listdir(raw) if (m := re.match(r'cpu-(\d+)\.json$', f)))
    if not counts:
        raise ValueError('no end-to-end results (cpu-N.json)')
    e2e = []
    for n in counts:
        cpu = load(os.path.join(raw, f'cpu-{n}.json'))
        gen = load(os.path.join(raw, f'rtpgen-{n}.json'))
        with open(os.path.join(raw, f'metrics-{n}.txt')) as f:
            hist = tick_histogram(f.read())
        cpu_pct = 100.0 * cpu['cpu_ticks'] / machine['clk_tck'] / (cpu['wall_ms'] / 1000.0)
        e2e.append({'n': n, 'cpu_pct': cpu_pct, 'gen': gen, 'hist': hist})

    md = ['# tutti benchmark report', '']
    md.append(f"{'Quick (smoke) run: short trials, figures are rough. ' if quick else ''}"
              f"Commit {machine['commit']}, {machine['date']}; {machine['cpu']}, {machine['cores']} cores, "
              f"Linux {machine['kernel']}; Highway target {engine['pcmu-conf10']['simd_target']}. "
              f"Load average when it started: {machine.get('loadavg', '?')} (figures from a busy machine "
              'understate what a core does). Raw JSON results are in raw/.')
    md.append('')

    # ---- participants per core ----
    md += ['## Participants per core', '']
    md.append(f'`tutti-bench engine`: the media engine in process (no network), one core, '
              f'participants it keeps at or below {int(TARGET_BUSY * 100)} % busy. '
              + ('Quick run: one fixed-size trial per workload, extrapolated linearly to '
                 f'{int(TARGET_BUSY * 100)} % busy.' if quick else 'Found by doubling, then bisection.'))
    md.append('')
    rows, plot_rows = [], []
    for w, (must, aim) in GOALS.items():
        e = engine[w]
        at = e['at_max']
        if quick:
            per_core = int(at['participants'] * TARGET_BUSY / at['busy']) if at['busy'] > 0 else 0
        else:
            per_core = int(e['max_participants_per_core'])
        verdict = 'aim met' if per_core >= aim else 'must met' if per_core >= must else 'below goal'
        rows.append([w, fmt(must), fmt(aim), fmt(per_core) + (' (est.)' if quick else ''),
                     fmt(at['us_per_participant_frame'], 3), fmt(at['tick_p99_us'], 0), verdict])
        plot_rows.append((w, max(per_core, 1), must, aim))
    md.append(table(['workload', 'must reach', 'aim', 'participants per core', 'us per participant-frame',
                     'tick p99 us', 'verdict'], rows))
    md += ['![participants per core](participants_per_core.png)', '']
    with open(os.path.join(out, 'per_core.dat'), 'w') as f:
        for i, (w, got, must, aim) in enumerate(plot_rows):
            f.write(f'{i} "{w}" {got} {must} {aim}\n')

    # ---- kernels ----
    md += ['## Kernels', '']
    md.append(f"`tutti-bench kernels`: {kernels['unit']}, median of {kernels['reps']} timed batches, "
              f"Highway target {kernels['target']}.")
    md.append('')
    rows = [[r['kernel'], fmt(r['simd']['median_ns'], 0), fmt(r['scalar']['median_ns'], 0),
             fmt(r['scalar_over_simd'], 2) + 'x'] for r in kernels['results']]
    md.append(table(['kernel', 'SIMD ns', 'scalar ns', 'scalar / SIMD'], rows))

    # ---- tick time ----
    md += ['## Tick time', '']
    md.append('Conference tick processing time (one conference\'s 20 ms mix tick, sending included). '
              'Engine trials, per workload:')
    md.append('')
    rows = []
    for w in GOALS:
        at = engine[w]['at_max']
        rows.append([w, fmt(at['participants']), fmt(at['busy'] * 100, 1), fmt(at['tick_p50_us'], 0),
                     fmt(at['tick_p99_us'], 0), fmt(at['tick_max_us'], 0)])
    md.append(table(['workload', 'participants', 'busy %', 'p50 us', 'p99 us', 'max us'], rows))
    md.append('tuttid end to end (`tutti_worker_tick_duration_seconds`, worker 0), share of ticks per bucket:')
    md.append('')
    bounds = [b for b, _ in e2e[0]['hist']]
    header = ['participants'] + ['<= ' + fmt(b, 0) + ' us' if b != float('inf') else '> ' + fmt(bounds[-2], 0) + ' us'
                                 for b in bounds]
    rows = []
    with open(os.path.join(out, 'tick.dat'), 'w') as f:
        for i, b in enumerate(bounds):
            label = fmt(b, 0) if b != float('inf') else 'more'
            f.write(f'"{label}"')
            for r in e2e:
                total = sum(c for _, c in r['hist']) or 1
                f.write(f' {100.0 * r["hist"][i][1] / total:.3f}')
            f.write('\n')
    for r in e2e:
        total = sum(c for _, c in r['hist']) or 1
        rows.append([fmt(r['n'])] + [fmt(100.0 * c / total, 1) + ' %' for _, c in r['hist']])
    md.append(table(header, rows))
    md += ['![tick time distribution](tick_time.png)', '']

    # ---- end to end ----
    md += ['## End to end', '']
    md.append('tuttid with one worker (io_uring, loopback) and `tutti-rtpgen --setup`: G.711 u-law, '
              'conferences of 10, speech-like audio. tuttid CPU from /proc/PID/stat over a window '
              'after set-up and warm-up; loss and RFC 3550 jitter as tutti-rtpgen measured them.')
    md.append('')
    pcmu = engine['pcmu-conf10']['at_max']['us_per_participant_frame']
    rows = []
    with open(os.path.join(out, 'cpu.dat'), 'w') as f:
        for r in e2e:
            g = r['gen']
            predicted = pcmu * 50 * r['n'] / 1e4  # engine cost alone, % of a core
            per_core = int(r['n'] * TARGET_BUSY * 100 / r['cpu_pct']) if r['cpu_pct'] > 0 else 0
            rows.append([fmt(r['n']), fmt(g['setup']['conferences'] if 'setup' in g else r['n'] // 10),
                         fmt(r['cpu_pct'], 1), fmt(predicted, 2), fmt(per_core),
                         fmt(g['loss_pct'], 3), fmt(g['jitter_ms']['p50'], 2), fmt(g['jitter_ms']['p99'], 2),
                         'pass' if g['pass'] else 'FAIL'])
            f.write(f'{r["n"]} {r["cpu_pct"]:.3f} {predicted:.4f}\n')
    md.append(table(['participants', 'conferences', 'tuttid CPU %', 'engine alone %',
                     f'participants per core at {int(TARGET_BUSY * 100)} %', 'loss %', 'jitter p50 ms',
                     'jitter p99 ms', 'rtpgen'], rows))
    for r in e2e:
        for reason in r['gen'].get('fail_reasons', []):
            md.append(f'- {r["n"]} participants, tutti-rtpgen: {reason}')
    if any(r['gen'].get('fail_reasons') for r in e2e):
        md.append('')
    md.append('"engine alone" is pcmu-conf10\'s in-process cost at that count: the rest of tuttid\'s CPU '
              'is kernel UDP on loopback (one syscall-backed packet each way per participant-frame).')
    md += ['', '![CPU against participant count](cpu_vs_participants.png)', '']

    with open(os.path.join(out, 'report.md'), 'w') as f:
        f.write('\n'.join(md))

    series = ' , '.join(f'"tick.dat" using {i + 2}:xtic(1) title "{r["n"]} participants"'
                        for i, r in enumerate(e2e))
    gnuplot(f'''
set output "participants_per_core.png"
set title "Participants per core (tutti-bench engine, <= {int(TARGET_BUSY * 100)} % busy)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [10:*]
set ylabel "participants per core (log)"
set grid ytics
set key top right
plot "per_core.dat" using 3:xtic(2) title "measured", "" using 4 title "must reach", "" using 5 title "aim"
unset logscale y
set yrange [0:*]

set output "tick_time.png"
set title "Tick processing time, tuttid worker 0 (share of ticks per bucket)"
set xlabel "tick time, upper bound of bucket (us)"
set ylabel "% of ticks"
plot {series}

set output "cpu_vs_participants.png"
set title "tuttid CPU against participant count (G.711, conferences of 10, loopback)"
set style data linespoints
set xlabel "participants"
set ylabel "% of one core"
set xrange [0:*]
set key top left
plot "cpu.dat" using 1:2 title "tuttid process CPU" pt 7, "" using 1:3 title "engine alone (tutti-bench)" pt 5
''', out)
    for f in ('per_core.dat', 'tick.dat', 'cpu.dat'):
        os.replace(os.path.join(out, f), os.path.join(raw, f))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: bench-report.py RAW_DIR OUT_DIR')
    try:
        main(sys.argv[1], sys.argv[2])
    except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError) as e:
        sys.exit(f'bench-report.py: {e}')
