"""`python -m rlocust.as_locust`: the opt-in step that makes this Python environment answer as Locust 2.47.

After it, in the environment of the interpreter that ran it (a virtualenv, or the image's /opt/venv):

- the `locust` command runs rlocust (the same program as `rlocust`);
- `import locust` from a plain `python` gives rlocust's `locust` package, so scripts that start Locust themselves
  (`from locust import main, events; main.main()`: Taurus/bzt's Locust executor, AWS's Distributed Load Testing)
  run on rlocust, with their listeners on `events.request`, `events.quitting`, ...;
- `pip list` shows `locust 2.47.0+rlocust.<version>` (so tools that check for Locust with pip find it, and
  `pip install locust-plugins` does not pull real Locust over it), and `pip uninstall locust` undoes the step.

What it writes: a `locust` script next to `rlocust`, a `.pth` file that appends rlocust's import hook to the end of
`sys.meta_path` (python/rlocust/_locust_hook.py), and a `locust-<version>.dist-info` that lists both. Nothing is
shadowed: the hook answers only when nothing installed provides `locust`. Refused (one line, exit 1) when real
Locust is installed in that environment. Never done by installing rlocust: only this command does it.

    python -m rlocust.as_locust          # make this environment answer as Locust
    python -m rlocust.as_locust --undo   # undo it (or: pip uninstall locust)
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from rlocust import LOCUST_VERSION, __version__

DIST_NAME = "locust"
VERSION = f"{LOCUST_VERSION}+rlocust.{__version__}"
INSTALLER = "rlocust.as_locust"
PTH = "rlocust-as-locust.pth"
PTH_LINE = "import rlocust._locust_hook\n"


class Refused(Exception):
    """A reason not to go on: one line for the user."""


def _paths() -> tuple[Path, Path]:
    """(site-packages, scripts directory) of the environment of this interpreter."""
    paths = sysconfig.get_paths()
    return Path(paths["purelib"]), Path(paths["scripts"])


def _dist_infos(site: Path) -> list[Path]:
    """Every `locust-*.dist-info` (or egg-info) directory in `site`."""
    return sorted(p for p in site.glob("*-info") if p.name.lower().split("-")[0] == DIST_NAME)


def _ours(info: Path) -> bool:
    try:
        return (info / "INSTALLER").read_text().strip() == INSTALLER
    except OSError:
        return False


def _real_locust(site: Path, scripts: Path) -> str | None:
    """A description of real Locust in this environment, or None."""
    for info in _dist_infos(site):
        if not _ours(info):
            version = info.name[len(DIST_NAME) + 1:].removesuffix(".dist-info").removesuffix(".egg-info")
            return f"Locust {version} is installed in {site}"
    if (site / "locust" / "__init__.py").exists():
        return f"a `locust` package is installed in {site}"
    script = scripts / "locust"
    if script.exists() and not _is_our_script(script):
        return f"{script} is not rlocust's"
    return None


SCRIPT_MARK = "# rlocust answering as `locust` (python -m rlocust.as_locust)"


def _is_our_script(path: Path) -> bool:
    try:
        return SCRIPT_MARK in path.read_text(errors="replace")
    except OSError:
        return False


def _record_line(path: Path, site: Path) -> str:
    rel = os.path.relpath(path, site)
    return f"{rel},,\n"


def undo() -> list[Path]:
    """Remove what `install` wrote (every file its RECORD lists, then the dist-info); returns what was removed."""
    site, _ = _paths()
    removed = []
    for info in _dist_infos(site):
        if not _ours(info):
            continue
        record = info / "RECORD"
        lines = record.read_text().splitlines() if record.exists() else []
        for line in lines:
            rel = line.rsplit(",", 2)[0]
            target = (site / rel).resolve() if not os.path.isabs(rel) else Path(rel)
            if target.is_file() and target.parent != info.resolve():
                target.unlink()
                removed.append(target)
        for f in list(info.iterdir()):
            f.unlink()
        info.rmdir()
        removed.append(info)
    return removed


def install() -> Path:
    """Make this environment answer as Locust; returns its site-packages. Raises `Refused`."""
    if os.name != "posix":
        raise Refused("rlocust: answering as `locust` is for Linux environments (rlocust's wheel is Linux-only)")
    site, scripts = _paths()
    real = _real_locust(site, scripts)
    if real:
        raise Refused(f"rlocust: {real}; rlocust does not answer as `locust` over it "
                      f"(run `pip uninstall locust` there first, or keep using `rlocust`)")
    undo()  # an earlier rlocust's step, replaced as a whole
    info = site / f"{DIST_NAME}-{VERSION}.dist-info"
    info.mkdir(parents=True)
    written = []

    script = scripts / "locust"
    script.write_text(f"#!{sys.executable}\n{SCRIPT_MARK}; undo: pip uninstall locust\n"
                      "import sys\n\nfrom rlocust import main\n\nif __name__ == \"__main__\":\n    sys.exit(main())\n")
    script.chmod(0o755)
    written.append(script)

    pth = site / PTH
    pth.write_text(PTH_LINE)
    written.append(pth)

    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\n"
        f"Name: {DIST_NAME}\n"
        f"Version: {VERSION}\n"
        f"Summary: rlocust {__version__} answering as Locust {LOCUST_VERSION} "
        "(python -m rlocust.as_locust; pip uninstall locust undoes it)\n"
        f"Requires-Dist: rlocust=={__version__}\n"
    )
    (info / "INSTALLER").write_text(INSTALLER + "\n")
    (info / "entry_points.txt").write_text("[console_scripts]\nlocust = rlocust:main\n")
    record = [_record_line(p, site) for p in written]
    record += [_record_line(info / n, site) for n in ("METADATA", "INSTALLER", "entry_points.txt", "RECORD")]
    (info / "RECORD").write_text("".join(record))
    return site


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in ([], ["--undo"]):
        try:
            if argv:
                removed = undo()
                print(f"rlocust: {sys.prefix} no longer answers as Locust" if removed
                      else f"rlocust: {sys.prefix} did not answer as Locust; nothing to undo")
                return 0
            install()
        except Refused as e:
            print(e, file=sys.stderr)
            return 1
        except OSError as e:
            print(f"rlocust: cannot write to {sys.prefix}: {e.strerror} ({e.filename})", file=sys.stderr)
            return 1
        print(f"rlocust: {sys.prefix} now answers as Locust {LOCUST_VERSION}: `locust` runs rlocust {__version__} "
              "and `import locust` gives rlocust's locust (undo: pip uninstall locust)")
        return 0
    if argv in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    print(f"rlocust: unknown arguments {' '.join(argv)!r} (usage: python -m rlocust.as_locust [--undo])",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
