"""Run folders: claims, resumes, and refusals that write nothing."""
import json

import pytest

from hipool.runs import MANIFEST, check_run_folder, claim_run_folder, update_manifest


def _listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_claim_then_resume_then_refuse(tmp_path):
    out = tmp_path / "run"
    assert claim_run_folder(out, "compare", {"seed": 0, "train": {"epochs": 5}}, argv=["hipool", "compare"]) is False
    record = json.loads((out / MANIFEST).read_text())
    assert record["command"] == "compare" and record["argv"] == ["hipool", "compare"]
    assert claim_run_folder(out, "compare", {"seed": 0, "train": {"epochs": 5}}) is True
    before = _listing(out)
    with pytest.raises(ValueError, match=r"holds a `hipool compare` run, not a `hipool train` run; choose another"):
        claim_run_folder(out, "train", {"seed": 0})
    with pytest.raises(ValueError, match=r"with other settings \(train.epochs: 5 there, 6 now\); repeat that "
                                         r"command to resume it"):
        claim_run_folder(out, "compare", {"seed": 0, "train": {"epochs": 6}})
    assert _listing(out) == before  # nothing was written
    update_manifest(out, models={"topk": {}})
    assert json.loads((out / MANIFEST).read_text())["models"] == {"topk": {}}


def test_foreign_folders_are_left_alone(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(ValueError, match=r"holds files that hipool did not write \(thesis.tex\)"):
        claim_run_folder(tmp_path / "mine", "train", {})
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_run_folder(tmp_path / "file", "train", {})
    (tmp_path / "empty").mkdir()
    assert claim_run_folder(tmp_path / "empty", "train", {}) is False
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match="cannot read this run folder's record"):
        check_run_folder(tmp_path / "broken", "train", {})
