"""The reproduction report is written from the CSVs alone, and says which mode made them."""

import pandas as pd

from paper_repro import paths, report


def _headline_csv(path, n):
    rows = []
    for variant in ("default", "attention x2"):
        for seed in (0, 1):
            cap = 1.45 + 0.02 * seed
            for qps in (0.2, 1.4, 1.6):
                rows.append(dict(variant=variant, seed=seed, qps=qps, at_capacity=False, kind="ttft",
                                 sarathi_capacity=cap, below_sarathi_capacity=qps < cap,
                                 ttft_change_pct=-10.0 * qps - seed))
            rows.append(dict(variant=variant, seed=seed, qps=cap, at_capacity=True, kind="ttft",
                             sarathi_capacity=cap, below_sarathi_capacity=False, ttft_change_pct=-30.0 - seed))
            rows.append(dict(variant=variant, seed=seed, kind="capacity", sarathi_capacity=cap,
                             slai_capacity=cap * 1.2, capacity_gain_pct=20.0 + seed))
    t = pd.DataFrame(rows)
    t["n_requests"] = n
    t.to_csv(path / "q_headline.csv", index=False)


def _rad_variants_csv(path):
    rows = [dict(panel="stability", factor=f, fluid=2.0, growth_sim=g, growth_fluid=h, time=0.0)
            for f, g, h in ((0.97, 0.001, 0.0), (1.03, 0.061, 0.060))]
    rows += [dict(panel="capacity", setting="calibrated, KV ample", variant=v, seed=s, fluid=fl, simulated=sim)
             for v, fl, sims in (("Sarathi-Serve", 2.0, (2.0, 2.1)), ("rad-alternating", 1.8, (1.82, 1.848)))
             for s, sim in enumerate(sims)]
    pd.DataFrame(rows).to_csv(path / "q_rad_variants.csv", index=False)


def test_report_numbers_come_from_the_csvs(tmp_path, monkeypatch):
    figures = tmp_path / "figures"
    figures.mkdir()
    monkeypatch.setattr(paths, "FIGURES", figures)
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "README.md").write_text("intro\n<!-- headline:start -->\nold\n<!-- headline:end -->\nrest\n")
    _headline_csv(figures, 2048)
    text = report.write_report("quick")
    assert (figures / "REPORT.md").read_text() == text
    assert "**Quick mode**" in text
    assert "| median TTFT, SLAI vs Sarathi-Serve FCFS, 1.4 req/s | -53% (QPS not stated) | -14.5% (range -15.0% .. -14.0%, 2 seeds)" in text
    assert "1.6 req/s | -53%" not in text  # above one seed's capacity: not a "below capacity" row
    assert "at Sarathi-Serve's capacity | -53% (QPS not stated) | -30.5% (range -31.0% .. -30.0%, 2 seeds)" in text
    assert "+20.5% (range +20.0% .. +21.0%, 2 seeds)" in text
    assert "RAD against its fluid capacity | throughput optimal | not run" in text  # missing CSVs are said
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("intro\n<!-- headline:start -->") and readme.endswith("<!-- headline:end -->\nrest\n")
    assert "old" not in readme and "-14.5% (range" in readme
    _headline_csv(figures, 16384)
    assert "Paper-sized runs" in report.write_report("full")


def test_report_leaves_the_readme_alone_when_writing_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "FIGURES", tmp_path / "out")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "README.md").write_text("intro\n<!-- headline:start -->\nold\n<!-- headline:end -->\n")
    _headline_csv(tmp_path / "out", 2048)
    report.write_report("quick")
    assert (tmp_path / "out" / "REPORT.md").exists()
    assert "old" in (tmp_path / "README.md").read_text()


def test_report_rad_variants_row(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "FIGURES", tmp_path)
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    assert "rad-alternating) | throughput optimal | not run" in report.write_report("quick")
    _rad_variants_csv(tmp_path)
    text = report.write_report("quick")
    assert "1.03x its fluid capacity 2.0000: backlog growth +0.0610/s (fluid +0.0600/s)" in text
    assert "capacity 0.895 (range 0.880 .. 0.910, 2 seeds) x Sarathi-Serve's (fluid 0.900)" in text


def _rad_stability_csv(path, growth):
    pd.DataFrame([dict(factor=f, capacity=2.0, window_growth_sim=growth * f, window_growth_fluid=0.0)
                  for f in (0.9, 1.1)]).to_csv(path / "q_rad_stability.csv", index=False)


def _main_with(tmp_path, monkeypatch, argv, growth=0.5):
    """``python -m paper_repro ARGV`` whose studies write only a q_rad_stability.csv (or nothing)."""
    from paper_repro import __main__ as runner

    def fake_study(name, quick):
        if name == "q_rad_stability":
            _rad_stability_csv(paths.FIGURES, growth)
        return 0.0, name

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "FIGURES", tmp_path / "figures")
    monkeypatch.setattr(runner, "run_study", fake_study)
    return runner.main(argv)


def _all_sources(tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir(exist_ok=True)
    _headline_csv(figures, 2048)
    _rad_stability_csv(figures, 0.25)
    _rad_variants_csv(figures)
    for k, name in enumerate(report.LC_STUDIES):
        t = pd.DataFrame({c: [0.5, 0.01 * k * (c == "LLRU")] for sim, model in report.MODEL_PAIRS for c in (sim, model)})
        t.to_csv(figures / f"{name}.csv", index=False)
    (tmp_path / "README.md").write_text("intro\n<!-- headline:start -->\nold\n<!-- headline:end -->\n")


def test_only_updates_the_rows_of_the_studies_it_ran_and_keeps_the_others(tmp_path, monkeypatch):
    _all_sources(tmp_path)
    monkeypatch.setattr(paths, "FIGURES", tmp_path / "figures")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    before = report.write_report("quick")
    assert "1.10x: backlog growth +0.2750/s" in before
    assert _main_with(tmp_path, monkeypatch, ["--only", "q_rad_stability"], growth=0.5) == 0
    after = (tmp_path / "figures" / "REPORT.md").read_text()
    assert "1.10x: backlog growth +0.5500/s" in after and "+0.2750/s" not in after
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines()) and len(changed) == 1  # only that row
    assert "RAD around its fluid capacity" in changed[0][1]
    assert "-14.5% (range" in after  # q_headline's rows, not run, are still there
    assert "+0.5500/s" in (tmp_path / "README.md").read_text()


def test_only_writes_no_report_when_rows_would_be_lost(tmp_path, monkeypatch, capsys):
    out = tmp_path / "elsewhere"
    readme = "intro\n<!-- headline:start -->\nold\n<!-- headline:end -->\n"
    (tmp_path / "README.md").write_text(readme)
    assert _main_with(tmp_path, monkeypatch, ["--only", "q_rad_stability", "--out", str(out)]) == 0
    assert (out / "q_rad_stability.csv").exists() and not (out / "REPORT.md").exists()
    said = capsys.readouterr().out
    assert "left as they were" in said and "q_headline.csv" in said and "q_rad_variants.csv" in said
    (out / "REPORT.md").write_text("an earlier report\n")
    assert _main_with(tmp_path, monkeypatch, ["--only", "q_rad_stability", "--out", str(out)]) == 0
    assert (out / "REPORT.md").read_text() == "an earlier report\n"
    assert (tmp_path / "README.md").read_text() == readme
    # a full run writes the report whatever is missing, as before (missing studies: "not run")
    assert _main_with(tmp_path, monkeypatch, ["--out", str(out)]) == 0
    assert "not run" in (out / "REPORT.md").read_text() and (tmp_path / "README.md").read_text() == readme


def test_only_in_another_mode_leaves_the_report_alone(tmp_path, monkeypatch, capsys):
    _all_sources(tmp_path)
    monkeypatch.setattr(paths, "FIGURES", tmp_path / "figures")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    before = report.write_report("quick")
    assert _main_with(tmp_path, monkeypatch, ["--only", "q_rad_stability", "--full"], growth=0.5) == 0
    assert (tmp_path / "figures" / "REPORT.md").read_text() == before
    assert "written in quick mode and this run is full" in capsys.readouterr().out
