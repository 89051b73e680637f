"""clean-my-data parameter validation (no input is read)."""

from __future__ import annotations

import pytest

from taskq.errors import InvalidParams
from taskq.jobs.clean import snake_case_names
from taskq.jobs.clean_params import STEP_ORDER, step_map, validate_params


def test_defaults_fill_every_step_in_order() -> None:
    out = validate_params({})
    assert [s["step"] for s in out["steps"]] == list(STEP_ORDER)
    steps = step_map(out)
    assert steps["types"]["threshold"] == 0.95
    assert steps["rename_columns"]["enabled"] is False
    assert steps["outliers"]["remove"] is False
    assert "N/A" in steps["placeholders"]["tokens"] and "" in steps["placeholders"]["tokens"]


def test_shortcuts_fold_into_steps() -> None:
    out = step_map(
        validate_params(
            {
                "threshold": 0.5,
                "default_region": "gb",
                "remove_outliers": True,
                "columns": {"c": {"case": "title", "nulls": "constant", "fill_value": "x", "type": "date"}},
            }
        )
    )
    assert out["types"]["threshold"] == 0.5
    assert out["types"]["columns"] == {"c": "date"}
    assert out["standardise"]["default_region"] == "GB"
    assert out["standardise"]["case"] == {"c": "title"}
    assert out["nulls"]["columns"] == {"c": {"strategy": "constant", "value": "x"}}
    assert out["outliers"]["remove"] is True


def test_validated_params_are_a_fixed_point() -> None:
    once = validate_params(
        {"steps": [{"step": "dedupe", "enabled": False}], "columns": {"a": {"nulls": "mean"}}}
    )
    assert validate_params({"steps": once["steps"]}) == once


def test_snake_case_names_keep_letters_beyond_ascii() -> None:
    # Prénom became pr_nom and 名前 col: the letters were dropped as punctuation.
    assert snake_case_names(["Prénom", "Straße", "Größe", "名前", "电话 号码", "Ça va?", "ﬁle"]) == [
        "prenom",
        "strasse",
        "grosse",
        "名前",
        "电话_号码",
        "ca_va",
        "file",
    ]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"bogus": 1}, "bogus"),
        ({"steps": "trim"}, "steps"),
        ({"steps": ["nope"]}, "steps[0].step"),
        ({"steps": ["dedupe", "whitespace"]}, "steps[1]"),
        ({"steps": [{"step": "types", "threshold": 1.5}]}, "steps.types.threshold"),
        ({"steps": [{"step": "types", "colour": 1}]}, "steps.types.colour"),
        ({"threshold": "high"}, "steps.types.threshold"),
        ({"default_region": "USA"}, "steps.standardise.default_region"),
        ({"columns": {"a": {"case": "shout"}}}, "steps.standardise.case.a"),
        ({"columns": {"a": {"nulls": "avg"}}}, "steps.nulls.columns.a"),
        ({"columns": {"a": {"nulls": "constant"}}}, "steps.nulls.columns.a"),
        ({"columns": {"a": {"type": "money"}}}, "steps.types.columns.a"),
        ({"columns": {"a": {"fill_value": 1}}}, "columns.a.fill_value"),
        ({"remove_outliers": "yes"}, "remove_outliers"),
        ({"steps": [{"step": "outliers", "k": -1}]}, "steps.outliers.k"),
        ({"steps": [{"step": "placeholders", "tokens": "NA"}]}, "steps.placeholders.tokens"),
        ({"default_region": "UK"}, "steps.standardise.default_region"),  # every phone quarantined
        ({"default_region": "ZZ"}, "steps.standardise.default_region"),
    ],
)
def test_bad_params_name_the_key(params: dict, key: str) -> None:
    with pytest.raises(InvalidParams) as info:
        validate_params(params)
    assert info.value.message.startswith(f"{key}:"), info.value.message


def test_the_uk_is_gb_and_says_so() -> None:
    with pytest.raises(InvalidParams, match="the United Kingdom is 'GB'"):
        validate_params({"default_region": "uk"})
    assert validate_params({"default_region": "gb"})["steps"][4]["default_region"] == "GB"


def test_snake_case_names_are_unique() -> None:
    assert snake_case_names(["First Name", "first_name", "userID", "2nd", " ", "a-b"]) == [
        "first_name",
        "first_name_2",
        "user_id",
        "col_2nd",
        "col",
        "a_b",
    ]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"threads": 0}, "threads"),
        ({"threads": True}, "threads"),
        ({"memory_limit": "lots"}, "memory_limit"),
        ({"max_columns": 0}, "max_columns"),
        ({"max_columns": "10"}, "max_columns"),
    ],
)
def test_bad_engine_params_name_the_key(params: dict, key: str) -> None:
    with pytest.raises(InvalidParams, match=f"'{key}'"):
        validate_params(params)


def test_engine_params_reach_the_connection(tmp_path, monkeypatch) -> None:
    from taskq.jobs import execute, io

    seen: list[dict] = []
    real = io.connect

    def spy(**kwargs):
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(io, "connect", spy)
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n2\n")
    assert validate_params({})["threads"] == 2 and validate_params({})["memory_limit"] == "768MB"
    execute("clean", src, tmp_path / "out", {"threads": 1, "memory_limit": " 300MB "})
    assert seen == [{"threads": 1, "memory_limit": "300MB"}]


def test_naming_a_step_turns_it_on() -> None:
    for entry in ("rename_columns", {"step": "rename_columns"}):
        steps = {s["step"]: s for s in validate_params({"steps": [entry]})["steps"]}
        assert steps["rename_columns"]["enabled"] is True
    off = validate_params({"steps": [{"step": "dedupe", "enabled": False}]})["steps"]
    assert {s["step"]: s for s in off}["dedupe"]["enabled"] is False


def test_an_input_wider_than_max_columns_is_refused_before_any_work(tmp_path) -> None:
    from taskq.errors import InputTooLarge
    from taskq.jobs import execute

    src = tmp_path / "wide.csv"
    src.write_text(",".join(f"c{i}" for i in range(40)) + "\n" + ",".join("1" * 40) + "\n")
    with pytest.raises(InputTooLarge, match=r"wide\.csv: 40 columns; clean-my-data takes at most 39"):
        execute("clean", src, tmp_path / "o", {"max_columns": 39})
    execute("clean", src, tmp_path / "o2", {"max_columns": 40})
