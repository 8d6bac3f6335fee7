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
    rows = [dict(panel="stability", factor=f, fluid=2.0, growth_sim=g, growth_fluid=h, time=0.0)
            for f, g, h in ((0.97, 0.001, 0.0), (1.03, 0.061, 0.060))]
    rows += [dict(panel="capacity", setting="calibrated, KV ample", variant=v, seed=s, fluid=fl, simulated=sim)
             for v, fl, sims in (("Sarathi-Serve", 2.0, (2.0, 2.1)), ("rad-alternating", 1.8, (1.82, 1.848)))
             for s, sim in enumerate(sims)]
    pd.DataFrame(rows).to_csv(tmp_path / "q_rad_variants.csv", index=False)
    text = report.write_report("quick")
    assert "1.03x its fluid capacity 2.0000: backlog growth +0.0610/s (fluid +0.0600/s)" in text
    assert "capacity 0.895 (range 0.880 .. 0.910, 2 seeds) x Sarathi-Serve's (fluid 0.900)" in text
