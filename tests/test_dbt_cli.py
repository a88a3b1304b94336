"""resources/dbt_cli.py: what each dbt build leaves behind in the dbt target folder."""

import os

from orchestration.resources.dbt_cli import PARTIAL_PARSE, _keep_partial_parse, _prune_run_targets


def test_run_folders_are_pruned_to_the_newest_and_the_parse_is_kept_for_the_next_run(tmp_path):
    target = tmp_path / "target"
    runs = []
    for i in range(13):
        run = target / f"campaign_dbt_models-{i:07x}-abcdef0"
        run.mkdir(parents=True)
        os.utime(run, (1_700_000_000 + i, 1_700_000_000 + i))
        runs.append(run)
    (target / "other-folder").mkdir()  # not a run folder: left alone
    latest = runs[-1]
    (latest / PARTIAL_PARSE).write_bytes(b"parsed with these vars")

    _keep_partial_parse(latest)
    _prune_run_targets(latest, keep=10)

    assert (target / PARTIAL_PARSE).read_bytes() == b"parsed with these vars"
    assert sorted(p.name for p in target.iterdir() if p.name.startswith("campaign_dbt_models-")) == [
        r.name for r in runs[3:]]
    assert (target / "other-folder").is_dir()
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_parse_leaves_the_kept_parse_alone(tmp_path):
    target = tmp_path / "target"
    run = target / "campaign_dbt_models-0000001-abcdef0"
    run.mkdir(parents=True)
    (target / PARTIAL_PARSE).write_bytes(b"the last good parse")

    _keep_partial_parse(run)  # dbt wrote no parse in this run

    assert (target / PARTIAL_PARSE).read_bytes() == b"the last good parse"
