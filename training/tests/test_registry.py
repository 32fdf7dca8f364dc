"""The registry's behaviour, run against both backends: a local directory and a real S3-compatible HTTP server
(moto's standalone server on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from leadrank_training.registry import ModelRegistry, RegistryError, main
from leadrank_training.registry_store import LocalStore, S3Store, open_store
from leadrank_training.synthetic import write_synthetic_training_set
from leadrank_training.train import run_training

BUCKET = "leadrank-registry-test"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three small models with different versions (different seeds)."""
    root = tmp_path_factory.mktemp("registry-models")
    out = []
    for seed in (1, 2, 3):
        data = write_synthetic_training_set(root / f"data{seed}", rows=3000, seed=seed)
        run_training(data, root / f"model{seed}")
        out.append(root / f"model{seed}")
    return out


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LEADRANK_S3_ENDPOINT": s3_endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return s3_endpoint


@pytest.fixture(params=["local", "s3"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> ModelRegistry:
    if request.param == "local":
        return ModelRegistry(LocalStore(tmp_path / "registry"))
    request.getfixturevalue("s3_env")
    return ModelRegistry.open(f"s3://{BUCKET}/{uuid.uuid4().hex}")


def version_of(model_dir: Path) -> str:
    return json.loads((model_dir / "model_card.json").read_text())["version"]


def test_register_copies_every_artifact_under_its_version_once(registry: ModelRegistry, models, tmp_path):
    first = registry.register(models[0])
    assert first.created and first.version == version_of(models[0])
    again = registry.register(models[0])
    assert again.version == first.version and not again.created
    assert registry.versions() == [first.version]
    manifest = registry.manifest(first.version)
    for name in (
        "model.onnx",
        "calibration.json",
        "feature-spec.json",
        "model_card.json",
        "report.json",
        "report.md",
        "model.json",
    ):
        assert name in manifest["files"], name
    assert registry.card(first.version)["version"] == first.version
    copy = registry.download(first.version, tmp_path / "copy")
    assert (copy / "model.onnx").read_bytes() == (models[0] / "model.onnx").read_bytes()


def test_register_refuses_a_directory_that_does_not_match_its_card(registry: ModelRegistry, models, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(models[0], tampered)
    calibration = json.loads((tampered / "calibration.json").read_text())
    (tampered / "calibration.json").write_text(json.dumps({**calibration, "method": "none"}))
    with pytest.raises(RegistryError, match=r"model_card\.json says"):
        registry.register(tampered)
    assert registry.versions() == []


def test_a_corrupted_stored_artifact_is_detected(registry: ModelRegistry, models, tmp_path):
    version = registry.register(models[0]).version
    registry.store.write(f"versions/{version}/calibration.json", b'{"method": "none"}')
    with pytest.raises(RegistryError, match="does not match its manifest"):
        registry.download(version, tmp_path / "copy")


def test_aliases_move_and_every_move_is_logged(registry: ModelRegistry, models, monkeypatch):
    monkeypatch.setenv("LEADRANK_ACTOR", "ci-retrain-job")
    a, b = (registry.register(m).version for m in models[:2])
    assert registry.alias("champion") is None
    registry.set_alias("champion", a, "first model")
    registry.set_alias("challenger", b, "weekly retrain")
    entry = registry.set_alias("champion", b, "better on holdout", action="promote")
    assert registry.alias_version("champion") == b
    assert registry.alias("champion")["previous_version"] == a == entry["previous_version"]
    moves = registry.alias_log()
    assert [(m["alias"], m["version"]) for m in moves] == [
        ("champion", a),
        ("challenger", b),
        ("champion", b),
    ]
    assert all(m["updated_by"] == "ci-retrain-job" and m["updated_at"] and m["reason"] for m in moves)
    assert [m["version"] for m in registry.alias_log("challenger")] == [b]
    before = registry.alias_log()
    registry.set_alias("challenger", a, "re-run")
    assert registry.alias_log()[: len(before)] == before  # append-only


def test_alias_moves_are_refused_for_unknown_versions_and_names(registry: ModelRegistry, models):
    version = registry.register(models[0]).version
    with pytest.raises(RegistryError, match="not in the registry"):
        registry.set_alias("champion", "lr-0000000000000000", "typo")
    with pytest.raises(RegistryError, match="unknown alias"):
        registry.set_alias("production", version, "no such alias")
    with pytest.raises(RegistryError, match="needs a reason"):
        registry.set_alias("champion", version, " ")
    assert registry.alias_log() == []


def test_rollback_walks_back_through_previous_champions(registry: ModelRegistry, models):
    a, b, c = (registry.register(m).version for m in models)
    with pytest.raises(RegistryError, match="no champion"):
        registry.rollback("nothing yet")
    for version in (a, b, c):
        registry.set_alias("champion", version, "promote", action="promote")
    assert registry.rollback("bad scores").get("version") == b
    assert registry.alias_version("champion") == b
    assert registry.rollback("still bad")["version"] == a
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback("again")
    assert registry.alias_version("champion") == a
    assert [e["action"] for e in registry.alias_log("champion")] == ["promote"] * 3 + ["rollback"] * 2


def test_cli_register_list_alias_show(registry: ModelRegistry, models, capsys):
    url = registry.url
    assert main(["--registry", url, "register", str(models[0]), "--alias", "challenger"]) == 0
    version = json.loads(capsys.readouterr().out)["version"]
    assert main(["--registry", url, "alias", "set", "champion", version, "--reason", "manual"]) == 0
    capsys.readouterr()
    assert main(["--registry", url, "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["version"] == version and set(listed[0]["aliases"]) == {"champion", "challenger"}
    assert main(["--registry", url, "show", "champion"]) == 0
    assert json.loads(capsys.readouterr().out)["model_card"]["version"] == version
    assert main(["--registry", url, "alias", "set", "champion", "lr-missing", "--reason", "x"]) == 1
    assert "not in the registry" in capsys.readouterr().err


def test_registry_url_selects_the_backend(tmp_path, monkeypatch):
    assert isinstance(open_store(tmp_path.as_uri()), LocalStore)
    assert open_store(str(tmp_path)).url == tmp_path.resolve().as_uri()
    monkeypatch.setenv("LEADRANK_REGISTRY_URL", (tmp_path / "env").as_uri())
    assert open_store().url == (tmp_path / "env").resolve().as_uri()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_store("s3://bucket/some/prefix/")
    assert isinstance(store, S3Store) and (store.bucket, store.prefix) == ("bucket", "some/prefix")
    with pytest.raises(ValueError, match="unsupported"):
        open_store("gs://bucket")
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path).read("../outside")


def test_the_registry_keyed_by_region_takes_only_its_regions_models(models, tmp_path):
    """--region: versions and aliases under regions/<region>/; a model trained on another region's rows,
    or of no recorded region, is refused there."""
    root = tmp_path / "registry"
    eu_model = tmp_path / "eu-model"
    shutil.copytree(models[0], eu_model)
    card = json.loads((eu_model / "model_card.json").read_text())
    card["residency"] = {"region": "EU", "pooled": False, "regions": ["EU"]}
    (eu_model / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(RegistryError, match="trained on EU rows; the US registry takes only US"):
        ModelRegistry.open(str(root), "US").register(eu_model)
    with pytest.raises(RegistryError, match="trained on unrecorded rows"):
        ModelRegistry.open(str(root), "EU").register(models[1])
    eu = ModelRegistry.open(str(root), "EU")
    version = eu.register(eu_model).version
    eu.set_alias("champion", version, "first EU model")
    assert (root / "regions" / "EU" / "versions" / version / "manifest.json").is_file()
    assert (root / "regions" / "EU" / "aliases" / "champion.json").is_file()
    assert ModelRegistry.open(str(root), "US").alias_version("champion") is None
    assert ModelRegistry.open(str(root)).versions() == []


def test_training_refuses_a_set_whose_rows_are_not_its_declared_region(tmp_path):
    data = write_synthetic_training_set(tmp_path / "data", rows=600, seed=5)
    (data / "residency.json").write_text(json.dumps({"region": "EU", "pooled": False}))
    with pytest.raises(ValueError, match=r"declares region 'EU' but \d+ of \d+ rows are of another"):
        run_training(data, tmp_path / "model")


def deal_model(tmp_path: Path) -> Path:
    """A model whose card says it scores opportunities (the fitted spec's recorded configuration)."""
    root = tmp_path / "deal-data"
    data = write_synthetic_training_set(root, rows=3000, seed=7)
    spec = json.loads((data / "feature-spec.json").read_text())
    spec["name"] = "opportunity-win"
    (data / "feature-spec.json").write_text(json.dumps(spec))
    run_training(data, tmp_path / "deal-model")
    return tmp_path / "deal-model"


def test_deal_models_live_in_targets_opportunity_and_never_cross_lead_models(models, tmp_path, capsys):
    """--target opportunity: the same layout under targets/opportunity/ (after regions/<region>/); a lead
    model is refused there and a deal model at the root, each naming the target to use."""
    root = tmp_path / "registry"
    deal = deal_model(tmp_path)
    deals = ModelRegistry.open(str(root), target="opportunity")
    with pytest.raises(
        RegistryError, match=r"a lead model; the opportunity registry .* \(register it with --target lead\)"
    ):
        deals.register(models[0])
    with pytest.raises(
        RegistryError, match=r"an opportunity model; the lead registry .* --target opportunity"
    ):
        ModelRegistry.open(str(root)).register(deal)
    version = deals.register(deal).version
    deals.set_alias("champion", version, "first deal model")
    assert (root / "targets" / "opportunity" / "versions" / version / "manifest.json").is_file()
    assert (root / "targets" / "opportunity" / "aliases" / "champion.json").is_file()
    lead = ModelRegistry.open(str(root))
    assert lead.versions() == [] and lead.alias_version("champion") is None
    # Regions first, then the target.
    assert ModelRegistry.open(str(root), "US", "opportunity").url.endswith("/regions/US/targets/opportunity")
    # The CLI names the target in its refusals.
    assert main(["--registry", str(root), "--target", "opportunity", "rollback", "--reason", "x"]) == 1
    err = capsys.readouterr().err
    assert f"refused: opportunity champion {version} has no previous champion" in err
    assert main(["--registry", str(root), "--target", "opportunity", "show", "challenger"]) == 1
    assert "refused: alias opportunity challenger is not set" in capsys.readouterr().err
