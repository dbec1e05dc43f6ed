#!/usr/bin/python3
"""Plots a synfield run file (format "synfield-1", host/io/output.h) as PNGs.

    tools/plot.py OUT.h5 -o DIR [--prefix NAME] [--replica R]

writes into DIR (NAME defaults to the file name without .h5 / .h5.partial):

  NAME_energy.png       energy, kinetic, potential and dissipated against time
  NAME_loss.png         loss (and test_loss) against time or step, for model runs
  NAME_field_<f>.png    field f of the snapshots of replica R: lines over all snapshots
                        for 1-D, a heat map of the last snapshot for 2-D, its middle slice
                        along axis 0 for 3-D
  NAME_spectrum.png     power spectrum of the last snapshot, one line per field

or, for the summary of `synfield sweep` (B.sweep.h5, format "synfield-sweep-1"):

  NAME_continuum.png    per width group: the RMS difference of the final fields between
                        successive widths against the spacing (log-log, with the observed
                        order), and the final loss against the spacing with the
                        Richardson-extrapolated limit
  NAME_throughput.png   time per step against the sites of the complete points (log-log),
                        with the fitted exponent p of time/step ~ N^p

The y axis is logarithmic when every plotted value is >= 0 and the positive ones span more
than two orders of magnitude (zeros are then left out). The power spectrum is
|w~(k)|^2 with w~(k) = (1/N) sum_x w(x) exp(-i k.x), k_mu = 2 pi n_mu / L_mu, averaged
over the replicas and, for 2-D and 3-D, over shells of |k| of width 2 pi / max(L_mu)
(in 1-D over +k and -k): a mode A cos(k.x) shows as A^2/4 at |k|. Positions use the
lattice spacing of the stored config (index units for files without a config, such as
`synfield gd` output, and step instead of time when there is no /observables/time).

Needs Python 3 with numpy, h5py and matplotlib (Debian: python3-numpy python3-h5py
python3-matplotlib). Works on a file still being written (OUT.h5.partial). Exit status 0,
or 2 with a message naming the file when it cannot be read.
"""

import argparse
import os
import re
import sys

import numpy as np

FIELD_COLOR = "#1f77b4"


def open_run_file(path):
    """Opens PATH read-only: plainly, in SWMR mode, or without file locking (a writer holds it)."""
    import h5py

    if not os.path.exists(path):
        hint = ""
        if os.path.exists(path + ".partial"):
            hint = " (%s.partial exists: a run still writing, or a failed one)" % path
        raise RuntimeError("%s: no such file%s" % (path, hint))
    if os.path.isdir(path):
        raise RuntimeError("%s: is a folder, not an HDF5 file" % path)
    if not h5py.is_hdf5(path):
        raise RuntimeError("%s: not an HDF5 file (truncated or corrupt?)" % path)
    errors = []
    for kwargs in ({}, {"swmr": True}, {"locking": False}):
        try:
            f = h5py.File(path, "r", **kwargs)
            break
        except (OSError, TypeError, ValueError) as e:  # TypeError: h5py without `locking`
            errors.append(str(e))
    else:
        raise RuntimeError("%s: cannot open as HDF5 (%s)" % (path, errors[0]))
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != "synfield-1":
        f.close()
        raise RuntimeError('%s: not a synfield file (root attribute format = %r, expected "synfield-1")' % (path, fmt))
    return f


def attr_str(f, name, default=""):
    v = f.attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else str(v)


def lattice_spacing(config_text):
    """The [lattice] spacing of a resolved config (1.0 when absent)."""
    try:
        import tomllib  # Python 3.11+

        return float(tomllib.loads(config_text).get("lattice", {}).get("spacing", 1.0))
    except ImportError:
        section = re.search(r"^\[lattice\](.*?)(^\[|\Z)", config_text, re.S | re.M)
        m = section and re.search(r"^\s*spacing\s*=\s*([-+0-9.eE]+)", section.group(1), re.M)
        return float(m.group(1)) if m else 1.0
    except Exception:
        return 1.0


def wants_log(values):
    """Log y when every value is >= 0 and the positive ones span more than two decades."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in values]) if values else np.array([])
    v = v[np.isfinite(v)]
    if v.size == 0 or np.any(v < 0):
        return False
    pos = v[v > 0]
    return pos.size > 1 and pos.max() / pos.min() > 100


def power_spectrum(w, spacing=1.0):
    """Shell-averaged |w~(k)|^2 of w [B, *shape] (B replicas); returns (|k|, P) for non-empty shells.

    w~(k) = (1/N) sum_x w(x) exp(-i k.x), k_mu = 2 pi n_mu / (shape_mu * spacing); a mode
    A cos(k.x) gives P = A^2/4 at |k|. Shells of width 2 pi / max_mu(L_mu), centred on
    multiples of it; P is the mean over the modes of a shell and over the replicas.
    """
    w = np.asarray(w, dtype=float)
    shape = w.shape[1:]
    axes = tuple(range(1, w.ndim))
    n = int(np.prod(shape))
    power = (np.abs(np.fft.fftn(w, axes=axes)) / n) ** 2
    power = power.mean(axis=0)
    ks = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(s, d=spacing) for s in shape], indexing="ij")
    kmag = np.sqrt(sum(k**2 for k in ks))
    dk = 2 * np.pi / (max(shape) * spacing)
    shell = np.rint(kmag / dk).astype(int).ravel()
    total = np.bincount(shell, weights=power.ravel())
    count = np.bincount(shell)
    keep = count > 0
    return np.arange(len(count))[keep] * dk, total[keep] / count[keep]


def _figure():
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.0), dpi=100)


def _save(fig, path, written):
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100, pil_kwargs={"optimize": True})
    plt.close(fig)
    written.append(path)


def _time_axis(obs, rows):
    if "time" in obs and obs["time"].shape[0] >= rows:
        return obs["time"][:rows], "time t"
    return obs["step"][:rows], "step"


def plot_energy(f, out, title, written):
    obs = f.get("observables")
    names = [n for n in ("energy", "kinetic", "potential", "dissipated") if obs is not None and n in obs]
    if not names:
        return
    rows = min(obs[n].shape[0] for n in names)
    if rows == 0:
        return
    x, xlabel = _time_axis(obs, rows)
    ys = {n: obs[n][:rows] for n in names}
    fig, ax = _figure()
    log = wants_log(list(ys.values()))
    for n in names:
        y = np.asarray(ys[n], dtype=float)
        if log:
            y = np.where(y > 0, y, np.nan)
        ax.plot(x, y, label=n, lw=1.4, marker="." if rows < 30 else None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("energy")
    ax.set_title("%s: energy balance" % title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    _save(fig, out + "_energy.png", written)


def plot_loss(f, out, title, written):
    obs = f.get("observables")
    names = [n for n in ("loss", "test_loss") if obs is not None and n in obs and obs[n].ndim == 1]
    if not names:
        return
    rows = min(obs[n].shape[0] for n in names)
    if rows == 0:
        return
    x, xlabel = _time_axis(obs, rows)
    ys = {n: np.asarray(obs[n][:rows], dtype=float) for n in names}
    fig, ax = _figure()
    log = wants_log(list(ys.values()))
    for n in names:
        ax.plot(x, np.where(ys[n] > 0, ys[n], np.nan) if log else ys[n], label=n, lw=1.4)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title("%s: loss" % title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    _save(fig, out + "_loss.png", written)


def _snapshot_fields(f):
    """[(name, dataset)] of the lattice fields [S, B, *shape] (not the model's bias)."""
    group = f.get("snapshots/fields")
    if group is None:
        return []
    return [(n, group[n]) for n in sorted(group) if n != "bias" and group[n].ndim >= 3 and group[n].shape[0] > 0]


def plot_fields(f, out, title, spacing, replica, written):
    import matplotlib.pyplot as plt

    snap = f["snapshots"]
    for name, ds in _snapshot_fields(f):
        S, B = ds.shape[0], ds.shape[1]
        r = min(replica, B - 1)
        times = snap["time"][:S] if "time" in snap and snap["time"].shape[0] >= S else None
        steps = snap["step"][:S] if "step" in snap and snap["step"].shape[0] >= S else np.arange(S)
        label_of = (lambda i: "t = %g" % times[i]) if times is not None else (lambda i: "step %d" % steps[i])
        rep = " (replica %d of %d)" % (r, B) if B > 1 else ""
        dim = ds.ndim - 2
        fig, ax = _figure()
        if dim == 1:
            w = ds[:, r, :]
            x = np.arange(w.shape[1]) * spacing
            c = np.asarray(times if times is not None else steps, dtype=float)
            norm = plt.Normalize(c.min(), c.max() if c.max() > c.min() else c.min() + 1)
            for i in range(S):
                ax.plot(x, w[i], color=plt.cm.viridis(norm(c[i])), lw=1.2, marker="." if x.size <= 32 else None,
                        label=label_of(i) if S <= 4 else None)
            if S <= 4:
                ax.legend(loc="best", fontsize="x-small")
            else:
                sm = plt.cm.ScalarMappable(cmap="viridis", norm=norm)
                fig.colorbar(sm, ax=ax, label="time t" if times is not None else "step")
            ax.set_xlabel("x")
            ax.set_ylabel(name)
            ax.grid(True, alpha=0.3)
            ax.set_title("%s: %s over %d snapshots%s" % (title, name, S, rep))
        else:
            w = ds[S - 1, r]
            where = ""
            if dim == 3:
                mid = w.shape[0] // 2
                w = w[mid]
                where = ", slice x0 = %g" % (mid * spacing)
            ny, nx = w.shape
            aspect = "equal" if 0.25 <= ny / nx <= 4 else "auto"
            im = ax.imshow(w, origin="lower", aspect=aspect, cmap="RdBu_r",
                           extent=(-0.5 * spacing, (nx - 0.5) * spacing, -0.5 * spacing, (ny - 0.5) * spacing))
            lim = np.nanmax(np.abs(w)) if w.size else 0
            if lim > 0:
                im.set_clim(-lim, lim)
            fig.colorbar(im, ax=ax, label=name)
            ax.set_xlabel("x%d" % (dim - 1))
            ax.set_ylabel("x%d" % (dim - 2))
            ax.set_title("%s: %s at %s%s%s" % (title, name, label_of(S - 1), where, rep), fontsize="medium")
        _save(fig, "%s_field_%s.png" % (out, name), written)


def plot_spectrum(f, out, title, spacing, written):
    fields = _snapshot_fields(f)
    if not fields:
        return
    fig, ax = _figure()
    curves = []
    for name, ds in fields:
        k, p = power_spectrum(ds[ds.shape[0] - 1], spacing)
        curves.append((name, k, p))
    log = wants_log([p for _, _, p in curves])
    for name, k, p in curves:
        ax.plot(k, np.where(p > 0, p, np.nan) if log else p, marker=".", lw=1.0, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("|k|")
    ax.set_ylabel(r"$|\tilde w(k)|^2$")
    ax.set_title("%s: power spectrum of the last snapshot" % title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    _save(fig, out + "_spectrum.png", written)


def is_sweep_summary(path):
    """True when PATH is a `synfield sweep` summary (format "synfield-sweep-1", host/sweep/sweep.h)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
    except (OSError, ValueError):
        return False
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    return fmt == "synfield-sweep-1"


def plot_sweep(path, outdir, prefix=None):
    """The summary of a sweep, B.sweep.h5: NAME_continuum.png (per width group: the RMS field
    difference between successive widths against the finer spacing, log-log, with the observed
    order, and the final loss against the spacing with its Richardson extrapolation) and
    NAME_throughput.png (time per step against the sites of the complete points, log-log, with
    the fitted exponent p of time/step ~ N^p). Returns the paths written."""
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = os.path.basename(path)
    if prefix is None:
        prefix = re.sub(r"\.h5$", "", base) or "sweep"
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, prefix)
    written = []
    with h5py.File(path, "r") as f:
        groups = sorted(f["continuum"].keys(), key=int) if "continuum" in f else []
        if groups:
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.0), dpi=100)
            for g in groups:
                c = f["continuum"][g]
                label = attr_str(c, "group") or "width sweep"
                h = c["spacing"][:]
                d = c["field_difference"][:]
                order = c["order"][:]
                loss = c["loss"][:]
                ok = np.isfinite(d) & (d > 0)
                if ok.any():
                    last = order[np.isfinite(order)]
                    tag = " (order %.2f)" % last[-1] if last.size else ""
                    ax1.loglog(h[ok], d[ok], marker="o", label=label + tag)
                ax2.plot(h, loss, marker="o", label=label)
                rich = float(c.attrs.get("richardson_loss", np.nan))
                if np.isfinite(rich):
                    p = float(c.attrs.get("richardson_order", np.nan))
                    ax2.axhline(rich, ls="--", lw=1.0, color=ax2.lines[-1].get_color(),
                                label="Richardson %.8g (order %.2f)" % (rich, p))
            ax1.set_xlabel("spacing a of the finer lattice")
            ax1.set_ylabel(r"RMS $|w_a - w_{a'}|$ on the coarser lattice")
            ax1.set_title("%s: field differences" % base)
            ax1.grid(True, which="both", alpha=0.3)
            ax1.legend(loc="best", fontsize="small")
            ax2.set_xscale("log")
            ax2.set_xlabel("spacing a")
            ax2.set_ylabel("final loss")
            ax2.set_title("continuum limit of the loss")
            ax2.grid(True, alpha=0.3)
            ax2.legend(loc="best", fontsize="small")
            _save(fig, out + "_continuum.png", written)
        pts = f["points"] if "points" in f else None
        if pts is not None and "status" in pts:
            status = [s.decode() if isinstance(s, bytes) else s for s in pts["status"][:]]
            sites = pts["sites"][:]
            rate = pts["steps_per_s"][:]
            ok = np.array([s == "complete" for s in status]) & np.isfinite(rate) & (rate > 0)
            if ok.sum() >= 2:
                fig, ax = _figure()
                ax.loglog(sites[ok], 1.0 / rate[ok], marker="o", ls="", label="points")
                p = float(f.attrs.get("scaling_exponent", np.nan))
                if np.isfinite(p):
                    x = np.log(sites[ok].astype(float))
                    y = np.log(1.0 / rate[ok])
                    c0 = np.mean(y) - p * np.mean(x)
                    xs = np.linspace(x.min(), x.max(), 20)
                    ax.loglog(np.exp(xs), np.exp(c0 + p * xs), lw=1.0, label="fit: time/step ~ N^%.3f" % p)
                ax.set_xlabel("sites N")
                ax.set_ylabel("time per step [s]")
                ax.set_title("%s: throughput" % base)
                ax.grid(True, which="both", alpha=0.3)
                ax.legend(loc="best", fontsize="small")
                _save(fig, out + "_throughput.png", written)
    return written


def plot_file(path, outdir, prefix=None, replica=0):
    """Writes the PNGs of PATH into OUTDIR; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    if os.path.isfile(path) and is_sweep_summary(path):
        return plot_sweep(path, outdir, prefix)
    f = open_run_file(path)
    try:
        base = os.path.basename(path)
        if prefix is None:
            prefix = re.sub(r"(\.h5)?(\.partial)?$", "", base) or "synfield"
        os.makedirs(outdir, exist_ok=True)
        out = os.path.join(outdir, prefix)
        status = attr_str(f, "status")
        title = base + ("" if status in ("", "complete") else " [%s]" % status)
        spacing = lattice_spacing(attr_str(f, "config"))
        written = []
        plot_energy(f, out, title, written)
        plot_loss(f, out, title, written)
        plot_fields(f, out, title, spacing, replica, written)
        plot_spectrum(f, out, title, spacing, written)
        return written
    finally:
        f.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Plot a synfield run file (format synfield-1) or a sweep summary "
                                 "(B.sweep.h5, format synfield-sweep-1) as PNGs.")
    ap.add_argument("file", help="HDF5 run file (OUT.h5, or OUT.h5.partial while a run writes it), or a sweep summary")
    ap.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the PNGs (created)")
    ap.add_argument("--prefix", help="file name prefix (default: the input's name without .h5)")
    ap.add_argument("--replica", type=int, default=0, help="replica shown in the field plots (default 0)")
    args = ap.parse_args(argv)
    try:
        import h5py  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as e:
        print("plot.py: error: %s (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib)" % e,
              file=sys.stderr)
        return 2
    try:
        written = plot_file(args.file, args.output, args.prefix, args.replica)
    except Exception as e:  # a message naming the file, not a traceback
        print("plot.py: error: %s" % e, file=sys.stderr)
        return 2
    for p in written:
        print(p)
    if not written:
        print("plot.py: %s: nothing to plot (no observables or snapshots yet)" % args.file, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
