"""What the server does with odd input and odd registries: column values that are not lists,
names registered before names were restricted (braces, newlines, non-Latin-1), two names with one
title, a promoted version that cannot load, and ``homl serve`` options out of range."""

from __future__ import annotations

import logging
import shutil
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the server needs the serve extra: pip install 'homl[serve]'")

from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import homl  # noqa: E402
from homl.cli import app as cli  # noqa: E402
from homl.errors import ConfigError, RegistryError  # noqa: E402
from homl.registry import Registry, _versions  # noqa: E402
from homl.serve import ModelPool, create_app, serve  # noqa: E402
from homl.serve._schema import BadRows, _title, check_columns  # noqa: E402
from homl.serve._uploads import header_value  # noqa: E402

ROW = {"x": 0.5, "colour": "red"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two small regressions saved as model directories: ``colours`` (x, colour) and ``ages`` (age, income)."""
    folder = tmp_path_factory.mktemp("robustness")
    rng = np.random.default_rng(0)
    colours = pd.DataFrame({"x": rng.normal(size=200), "colour": rng.choice(["red", "blue"], 200)})
    colours["y"] = 2 * colours["x"] + (colours["colour"] == "red") + rng.normal(scale=0.1, size=200)
    ages = pd.DataFrame({"age": rng.uniform(20, 60, 200), "income": rng.uniform(1, 9, 200)})
    ages["t"] = 0.1 * ages["age"] + ages["income"] + rng.normal(scale=0.1, size=200)
    for name, frame, target in (("colours", colours, "y"), ("ages", ages, "t")):
        homl.fit(frame, target, time_limit=10, models=["ridge"], tune=False, ensemble=False, bagging=False,
                 report=False, cv=3).save(folder / name)
    return folder


def _registry(tmp_path, models, names: dict[str, str], *, unchecked: bool = False) -> Registry:
    """A registry holding ``names`` (name: model directory in ``models``); ``unchecked``: names stored
    as they are, as a registry made under older rules may hold them."""
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    with pytest.MonkeyPatch.context() as patch:
        if unchecked:
            patch.setattr(_versions, "_check_name", lambda name, what="model name": None)
        for name, folder in names.items():
            registry.add(models / folder, name)
    return registry


def test_tf_serving_inputs_that_are_not_lists_get_422_naming_the_field(tmp_path, models):
    client = TestClient(create_app(ModelPool(_registry(tmp_path, models, {"colours": "colours"})), poll_seconds=None))
    for value in (5, {"0": 1}, "0.5"):
        answer = client.post("/v1/models/colours:predict", json={"inputs": {"x": value, "colour": ["red"]}})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == [{"row": None, "field": "x", "message": "expected a list of values, "
                                                                                  "one per row"}]
    good = client.post("/v1/models/colours:predict", json={"inputs": {"x": [0.5], "colour": ["red"]}})
    assert good.status_code == 200 and len(good.json()["predictions"]) == 1


def test_check_columns_names_every_column_that_is_not_a_list():
    with pytest.raises(BadRows) as raised:
        check_columns(None, {"a": 1, "b": [1], "c": {"0": 1}})
    assert [p["field"] for p in raised.value.problems] == ["a", "c"]


def test_names_stored_under_older_rules_neither_crash_nor_capture_other_routes(tmp_path, models, caplog):
    names = {"m{version}": "colours", "m{x:foo}": "colours", "m{x}": "colours", "mother": "ages",
             "模型€": "colours", "nl\nname": "colours"}
    registry = _registry(tmp_path, models, names, unchecked=True)
    with caplog.at_level(logging.WARNING, logger="homl"):
        client = TestClient(create_app(ModelPool(registry), poll_seconds=None))
    skipped = [r.getMessage() for r in caplog.records if "braces in its name" in r.getMessage()]
    assert sorted(m.split(" ")[0] for m in skipped) == ["m{version}", "m{x:foo}", "m{x}"]
    mother = client.post("/v1/models/mother/predict", json={"instances": [{"age": 30, "income": 5}]})
    assert mother.status_code == 200 and mother.json()["model"] == "mother"
    braced = client.post("/v1/models/m%7Bx%7D:predict", json={"instances": [ROW]})
    assert braced.status_code == 200 and len(braced.json()["predictions"]) == 1
    no_route = client.post("/v1/models/m%7Bx%7D/predict", json={"instances": [ROW]})
    assert no_route.status_code == 404 and "/v1/models/m{x}:predict" in no_route.json()["detail"]
    for name in ("模型€", "nl\nname"):
        answer = client.post(f"/v1/models/{quote(name)}/predict", json={"instances": [ROW]},
                             headers={"Accept": "text/csv"})
        assert answer.status_code == 200 and answer.text.startswith("prediction")
        assert unquote(answer.headers["X-Homl-Model"]) == name
    assert client.get("/openapi.json").status_code == 200


def test_header_values_are_latin_1_without_control_characters_and_read_back():
    assert header_value("housing") == "housing" and header_value("my-model.v2") == "my-model.v2"
    assert header_value("nl\nname") == "nl%0Aname" and header_value("a%41") == "a%2541"
    for name in ("模型€", "nl\nname", "tab\there", "a%41", "ünï"):
        value = header_value(name)
        assert value.isascii() and value.isprintable() and unquote(value) == name


def test_names_that_share_a_title_get_their_own_openapi_components(tmp_path, models):
    registry = _registry(tmp_path, models, {"my-model": "colours", "my_model": "ages"})
    document = TestClient(create_app(ModelPool(registry), poll_seconds=None)).get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    fields = {}
    for name in ("my-model", "my_model"):
        body = document["paths"][f"/v1/models/{name}/predict"]["post"]["requestBody"]["content"]["application/json"]
        request = body["schema"]["$ref"].split("/")[-1]
        instance = schemas[request]["properties"]["instances"]["items"]["$ref"].split("/")[-1]
        fields[name] = sorted(schemas[instance]["properties"])
    assert fields == {"my-model": ["colour", "x"], "my_model": ["age", "income"]}


def test_titles_are_unique_per_name_and_plain_for_plain_names():
    assert _title("housing") == "Housing" and _title("titanic2") == "Titanic2"
    titles = [_title(n) for n in ("my-model", "my_model", "MyModel", "mymodel", "my.model", "model", "_")]
    assert len(set(titles)) == len(titles) and titles[3] == "Mymodel" and titles[5] == "Model"
    assert titles[0].startswith("MyModel_") and titles[1].startswith("MyModel_") and titles[2].startswith("Mymodel_")


def test_a_version_that_cannot_load_keeps_the_previous_one_and_others_still_refresh(tmp_path, models, caplog):
    for name in ("a", "b"):  # a second version of each, with content of its own
        shutil.copytree(models / "colours", tmp_path / f"{name}2")
        (tmp_path / f"{name}2" / "notes.txt").write_text(f"{name} v2", encoding="utf-8")
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    for name in ("a", "b"):
        registry.add(models / "colours", name)
        registry.add(tmp_path / f"{name}2", name)
    registry.promote("a", 1)
    registry.promote("b", 2)
    pool = ModelPool(registry)
    (registry.get("a", 2).path / "notes.txt").write_text("changed behind the registry's back", encoding="utf-8")
    registry.promote("a", 2)
    registry.promote("b", 1)
    with caplog.at_level(logging.WARNING, logger="homl"):
        assert pool.refresh() == ["b"]
        assert pool.refresh() == []
    assert pool.get("a").version == 1 and pool.get("b").version == 1
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and warned[0].startswith("a: version 2 cannot be served")
    assert "changed since they were registered" in warned[0] and "still serving version 1" in warned[0]
    with pytest.raises(RegistryError, match="a version 2: the stored files changed"):
        ModelPool(registry)  # nothing served before: the error is the caller's


@pytest.mark.parametrize("option, said", [(["--port", "70000"], "'--port'"), (["--port", "-1"], "'--port'"),
                                          (["--poll", "-1"], "'--poll'"), (["--poll", "inf"], "'--poll'")])
def test_serve_options_out_of_range_are_refused_before_serving(tmp_path, option, said):
    result = CliRunner().invoke(cli, ["serve", "m", "--registry", f"sqlite:///{tmp_path / 'r.db'}", *option])
    assert result.exit_code == 2 and said in result.output and "serving" not in result.output


@pytest.mark.parametrize("settings, said", [({"port": 70000}, "--port 70000: expected a port number from 1 to 65535"),
                                            ({"port": 0}, "--port 0"), ({"poll_seconds": -1}, "--poll -1"),
                                            ({"poll_seconds": float("nan")}, "--poll nan")])
def test_serve_refuses_a_port_or_poll_out_of_range(tmp_path, settings, said):
    with pytest.raises(ConfigError, match=said):
        serve(["m"], registry=f"sqlite:///{tmp_path / 'r.db'}", **settings)


def test_a_port_in_use_is_refused_before_the_server_says_it_serves(tmp_path, models):
    import socket

    registry = _registry(tmp_path, models, {"colours": "colours"})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"cannot listen on 127\.0\.0\.1:{port}: .*pick another --port"):
            serve(["colours"], registry=registry.url, port=port, on_start=lambda: pytest.fail("announced"))
        result = CliRunner().invoke(cli, ["serve", "colours", "--registry", registry.url, "--port", str(port)])
    assert isinstance(result.exception, ConfigError) and "serving" not in result.output
    with pytest.raises(ConfigError, match=r"cannot listen on 192\.0\.2\.1:8080: .*check --host and --port"):
        serve(["colours"], registry=registry.url, host="192.0.2.1", insecure=True)  # no address of this machine
