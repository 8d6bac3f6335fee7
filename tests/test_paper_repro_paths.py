"""paper_repro writes to the repository's figures/ in a source checkout and to ./figures (or --out)
anywhere else: never into an installed package."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_outputs_outside_a_checkout_go_to_the_working_directory(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "paper_repro", site / "paper_repro", ignore=shutil.ignore_patterns("_cache", "__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    code = ("from paper_repro import paths\n"
            "print(paths.in_source_checkout(), paths.FIGURES, paths.CACHE, paths.STYLE.is_file())\n"
            "paths.use_output('out')\n"
            "print(paths.FIGURES, paths.CACHE)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    res = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    first, second = res.stdout.splitlines()
    assert first.split() == ["False", str(work / "figures"), str(work / "figures" / ".sweep-cache"), "True"]
    assert second.split() == [str(work / "out"), str(work / "out" / ".sweep-cache")]


def test_a_source_checkout_keeps_the_repository_figures():
    from paper_repro import paths

    assert paths.in_source_checkout()
    assert paths.FIGURES == ROOT / "figures" and paths.CACHE == ROOT / "paper_repro" / "_cache"
