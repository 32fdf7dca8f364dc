"""Model registry: immutable model versions, `champion` / `challenger` aliases and an append-only alias log.

python -m leadrank_training.registry [--registry URL] [--region US|EU] [--target lead|opportunity]
        register <model dir> [--alias ...]
python -m leadrank_training.registry [--registry URL] list | show <version|alias>
python -m leadrank_training.registry [--registry URL] alias get|set|log ... | rollback --reason ..

Layout (the same on every backend; scoring-sidecar/src/model/registry.ts reads it):
  versions/<version>/<artifact>       model.onnx, calibration.json, model.json, feature-spec.json,
                                      model_card.json, report.json, report.md, PNGs
  versions/<version>/manifest.json    sha256 and size of every artifact; written last (= complete)
  aliases/<alias>.json                {alias, version, previous_version, action, reason, updated_by/at}
  alias-log/<utc time>-<random>.json  one entry per alias move (never rewritten: S3 cannot append)

With --region the registry is keyed by region: the same layout under regions/<region>/, which is all a
deployment of that region reads (scoring-sidecar/src/model/registry.ts), and a model whose card says it was
trained on another region's rows is refused there.

Targets: lead models (the default) use the layout above; opportunity (deal) models the same layout under
targets/opportunity/ of it (after the region: regions/<region>/targets/opportunity/), so registries written
before deals had models read as they did. A model is registered only in its own target's registry: its target
is the feature spec's `target` recorded in the card (config/features/<target>.json), else the spec name
(`opportunity-win` is a deal model, anything else a lead model).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import logging
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .model_card import VERSIONED_ARTIFACTS, content_version
from .registry_store import ObjectStore, PrefixedStore, open_store

ALIASES = ("champion", "challenger")
TARGETS = ("lead", "opportunity")
OPPORTUNITY_SPEC_NAME = "opportunity-win"
MANIFEST = "manifest.json"
MODEL_CARD = "model_card.json"
REQUIRED_ARTIFACTS = (*VERSIONED_ARTIFACTS, MODEL_CARD)
ACTOR_ENV = "LEADRANK_ACTOR"
log = logging.getLogger("leadrank_training")


class RegistryError(Exception):
    """A registry operation was refused (unknown version, tampered artifacts, nothing to roll back to...)."""


def _now() -> datetime:
    return datetime.now(UTC)


def current_actor() -> str:
    """Who moved an alias: $LEADRANK_ACTOR (CI job, service account), else user@host."""
    return os.environ.get(ACTOR_ENV) or f"{getpass.getuser()}@{socket.gethostname()}"


def _json_bytes(value: object) -> bytes:
    return (json.dumps(value, indent=2, allow_nan=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Registered:
    version: str
    created: bool  # False: the version was already there (registering is idempotent)


def model_target(card: dict) -> str:
    """What a model scores: the recorded spec configuration's `target`, else by spec name."""
    spec = card.get("feature_spec") or {}
    target = ((spec.get("config") or {}).get("content") or {}).get("target")
    if target in TARGETS:
        return target
    return "opportunity" if spec.get("name") == OPPORTUNITY_SPEC_NAME else "lead"


class ModelRegistry:
    def __init__(self, store: ObjectStore, region: str | None = None, target: str = "lead") -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
        self.store = store
        self.region = region
        self.target = target

    @classmethod
    def open(cls, url: str | None = None, region: str | None = None, target: str = "lead") -> ModelRegistry:
        store = open_store(url)
        if region is not None:
            if region not in ("US", "EU"):
                raise ValueError(f"region must be US or EU, not {region!r}")
            store = PrefixedStore(store, f"regions/{region}")
        if target != "lead":
            store = PrefixedStore(store, f"targets/{target}")
        return cls(store, region, target)

    def label(self, alias: str) -> str:
        """`champion`, or `opportunity champion` in another target's registry (for messages)."""
        return alias if self.target == "lead" else f"{self.target} {alias}"

    @property
    def url(self) -> str:
        return self.store.url

    # --- versions -------------------------------------------------------------------------------------
    def register(self, model_dir: Path) -> Registered:
        """Copies a trained model directory in under its content-hash version. Refuses a directory whose
        artifacts do not hash to the version in its model card."""
        model_dir = Path(model_dir)
        missing = [n for n in REQUIRED_ARTIFACTS if not (model_dir / n).is_file()]
        if missing:
            raise RegistryError(f"{model_dir} lacks {', '.join(missing)}")
        card = json.loads((model_dir / MODEL_CARD).read_text(encoding="utf-8"))
        version = card.get("version")
        target = model_target(card)
        if target != self.target:
            article = "an" if target[0] in "aeiou" else "a"
            raise RegistryError(
                f"{model_dir}: {article} {target} model; the {self.target} registry ({self.url}) takes "
                f"only {self.target} models (register it with --target {target})"
            )
        residency = card.get("residency") or {}
        if self.region is not None and not residency.get("pooled") and residency.get("region") != self.region:
            raise RegistryError(
                f"{model_dir}: trained on {residency.get('region') or 'unrecorded'} rows; "
                f"the {self.region} registry takes only {self.region} (or pooled) models"
            )
        actual = content_version(model_dir)
        if actual != version:
            raise RegistryError(
                f"{model_dir}: artifacts hash to {actual} but model_card.json says {version!r}; refusing"
            )
        if self.manifest(version) is not None:
            return Registered(version, created=False)
        names = sorted(
            {*REQUIRED_ARTIFACTS, *(n for n in card.get("artifacts", []) if (model_dir / n).is_file())}
        )
        files = {}
        for name in names:
            if "/" in name or name == MANIFEST:
                raise RegistryError(f"unexpected artifact name {name!r}")
            data = (model_dir / name).read_bytes()
            self.store.write(f"versions/{version}/{name}", data)
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        manifest = {
            "version": version,
            "registered_at": _now().isoformat(),
            "registered_by": current_actor(),
            "files": files,
        }
        self.store.write(f"versions/{version}/{MANIFEST}", _json_bytes(manifest))
        log.info(json.dumps({"msg": "model registered", "version": version, "registry": self.url}))
        return Registered(version, created=True)

    def manifest(self, version: str) -> dict | None:
        data = self.store.read(f"versions/{version}/{MANIFEST}")
        return None if data is None else json.loads(data)

    def versions(self) -> list[str]:
        """Complete versions (those with a manifest), oldest registration first."""
        found = [key.split("/")[1] for key in self.store.list("versions/") if key.endswith(f"/{MANIFEST}")]
        manifests = {v: self.manifest(v) or {} for v in found}
        return sorted(found, key=lambda v: (manifests[v].get("registered_at", ""), v))

    def _require(self, version: str) -> dict:
        manifest = self.manifest(version)
        if manifest is None:
            raise RegistryError(f"version {version!r} is not in the registry {self.url}")
        return manifest

    def read_artifact(self, version: str, name: str) -> bytes:
        manifest = self._require(version)
        if name not in manifest["files"]:
            raise RegistryError(f"version {version} has no {name}")
        data = self.store.read(f"versions/{version}/{name}")
        if data is None or hashlib.sha256(data).hexdigest() != manifest["files"][name]["sha256"]:
            raise RegistryError(f"versions/{version}/{name} is missing or does not match its manifest")
        return data

    def card(self, version: str) -> dict:
        return json.loads(self.read_artifact(version, MODEL_CARD))

    def download(self, version: str, dest: Path) -> Path:
        """Copies every artifact of `version` into dest (checked against the manifest); returns dest."""
        manifest = self._require(version)
        dest.mkdir(parents=True, exist_ok=True)
        for name in manifest["files"]:
            (dest / name).write_bytes(self.read_artifact(version, name))
        if content_version(dest) != version:
            raise RegistryError(f"version {version}: downloaded artifacts do not hash to the version")
        return dest

    # --- aliases --------------------------------------------------------------------------------------
    def alias(self, name: str) -> dict | None:
        _check_alias(name)
        data = self.store.read(f"aliases/{name}.json")
        return None if data is None else json.loads(data)

    def alias_version(self, name: str) -> str | None:
        doc = self.alias(name)
        return None if doc is None else doc["version"]

    def set_alias(self, name: str, version: str, reason: str, action: str = "set") -> dict:
        """Points `name` at `version` (one atomic object write), then appends the move to the alias log."""
        _check_alias(name)
        if not reason.strip():
            raise RegistryError("an alias move needs a reason")
        self._require(version)
        now = _now()
        entry = {
            "alias": name,
            "version": version,
            "previous_version": self.alias_version(name),
            "action": action,
            "reason": reason,
            "updated_by": current_actor(),
            "updated_at": now.isoformat(),
        }
        # The alias document is the truth and is written first; a crash before the log entry loses history,
        # never a move the log claims but the alias lacks.
        self.store.write(f"aliases/{name}.json", _json_bytes(entry))
        stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
        self.store.write(f"alias-log/{stamp}-{uuid.uuid4().hex[:8]}.json", _json_bytes(entry))
        log.info(json.dumps({"msg": "alias moved", **{k: entry[k] for k in ("alias", "version", "action")}}))
        return entry

    def alias_log(self, name: str | None = None) -> list[dict]:
        """Every alias move, oldest first (keys sort by time)."""
        entries = [json.loads(self.store.read(k) or b"null") for k in self.store.list("alias-log/")]
        return [e for e in entries if e and (name is None or e["alias"] == name)]

    def champion_history(self) -> list[str]:
        """The champion stack replayed from the log: a promotion or set pushes, a rollback pops."""
        stack: list[str] = []
        for entry in self.alias_log("champion"):
            if entry["action"] == "rollback" and stack:
                stack.pop()
            else:
                stack.append(entry["version"])
        return stack

    def previous_champion(self) -> str | None:
        stack = self.champion_history()
        current = self.alias_version("champion")
        if len(stack) < 2 or stack[-1] != current:
            return None
        return stack[-2]

    def rollback(self, reason: str) -> dict:
        """champion -> the champion before it (from the alias log). Refuses when there is none."""
        current = self.alias_version("champion")
        if current is None:
            raise RegistryError(f"there is no {self.label('champion')} to roll back ({self.url})")
        previous = self.previous_champion()
        if previous is None:
            raise RegistryError(
                f"{self.label('champion')} {current} has no previous champion in the alias log ({self.url})"
            )
        return self.set_alias("champion", previous, f"rollback from {current}: {reason}", action="rollback")


def _check_alias(name: str) -> None:
    if name not in ALIASES:
        raise RegistryError(f"unknown alias {name!r}: expected one of {', '.join(ALIASES)}")


def _summary(registry: ModelRegistry, version: str, aliases: dict[str, str | None]) -> dict:
    card = registry.card(version)
    test = card.get("metrics", {}).get("test", {})
    return {
        "version": version,
        "aliases": [a for a, v in aliases.items() if v == version],
        "registered_at": (registry.manifest(version) or {}).get("registered_at"),
        "feature_spec": card.get("feature_spec", {}).get("name"),
        "features": card.get("feature_spec", {}).get("features"),
        "roc_auc": test.get("roc_auc"),
        "ece": test.get("ece"),
        "parity_passed": card.get("parity", {}).get("python_onnxruntime", {}).get("passed"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leadrank_training.registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--registry",
        help="file:///path, a path, or s3://bucket/prefix (default: "
        "$LEADRANK_REGISTRY_URL, else <repo>/var/registry)",
    )
    parser.add_argument(
        "--region", choices=("US", "EU"), help="the region's registry: regions/<region>/ of the registry"
    )
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default="lead",
        help="what the models score: lead (default) or opportunity (targets/opportunity/)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser("register", help="copy a trained model directory into the registry")
    register.add_argument("model_dir", type=Path)
    register.add_argument("--alias", choices=ALIASES, help="then point this alias at it")
    register.add_argument("--reason", default="registered")
    commands.add_parser("list", help="every version, with its aliases and headline metrics")
    show = commands.add_parser("show", help="a version's manifest and model card")
    show.add_argument("version", help="a version, or an alias name")
    alias = commands.add_parser("alias", help="read, move or list the history of aliases")
    alias_commands = alias.add_subparsers(dest="alias_command", required=True)
    alias_commands.add_parser("get").add_argument("name", choices=ALIASES)
    alias_set = alias_commands.add_parser("set")
    alias_set.add_argument("name", choices=ALIASES)
    alias_set.add_argument("version")
    alias_set.add_argument("--reason", required=True)
    alias_commands.add_parser("log").add_argument("--name", choices=ALIASES)
    rollback = commands.add_parser("rollback", help="champion -> the previous champion (from the alias log)")
    rollback.add_argument("--reason", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    registry = ModelRegistry.open(args.registry, args.region, args.target)
    out: object
    try:
        if args.command == "register":
            result = registry.register(args.model_dir)
            out = {"version": result.version, "created": result.created}
            if args.alias:
                out["alias"] = registry.set_alias(args.alias, result.version, args.reason)
        elif args.command == "list":
            aliases = {a: registry.alias_version(a) for a in ALIASES}
            out = [_summary(registry, v, aliases) for v in registry.versions()]
        elif args.command == "show":
            version = registry.alias_version(args.version) if args.version in ALIASES else args.version
            if version is None:
                raise RegistryError(f"alias {registry.label(args.version)} is not set ({registry.url})")
            out = {"manifest": registry._require(version), "model_card": registry.card(version)}
        elif args.command == "rollback":
            out = registry.rollback(args.reason)
        elif args.alias_command == "get":
            out = registry.alias(args.name)
        elif args.alias_command == "set":
            out = registry.set_alias(args.name, args.version, args.reason)
        else:
            out = registry.alias_log(args.name)
    except RegistryError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 1
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
