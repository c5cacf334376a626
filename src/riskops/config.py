"""Workspace location and the ``riskops.toml`` config file.

A workspace is one folder (``--home``, else ``RISKOPS_HOME``, else
``./.riskops``) holding::

    riskops.toml          config (this module reads and validates it)
    riskops.db            SQLite database (unless RISKOPS_DATABASE_URL is set)
    artifacts/            content-addressed blobs and per-version folders
    lake/                 Parquet lake for inference logs (later issues)
    keys/signing.pem      ECDSA P-256 private key, mode 0600
    keys/public.pem       its public key; what verifiers trust
    manifest.json(.sig)   the signed manifest serving reads
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskops.errors import InputError, WorkspaceNotFound

CONFIG_NAME = "riskops.toml"
DEFAULT_HOME = ".riskops"
ENV_HOME = "RISKOPS_HOME"
ENV_DATABASE_URL = "RISKOPS_DATABASE_URL"
ENV_AMQP_URL = "RISKOPS_AMQP_URL"
ENV_TRUSTED_KEYS = "RISKOPS_TRUSTED_KEYS"
ENV_STATE_DIR = "RISKOPS_STATE_DIR"
ENV_SPARK_MASTER = "RISKOPS_SPARK_MASTER"
DEFAULT_SPARK_MASTER = "local[2]"

_KNOWN_KEYS: dict[str, set[str]] = {
    "workspace": {"format"},
    "database": {"url"},
    "registry": {"trusted_types", "max_artifact_bytes"},
    "amqp": {"url"},
    "trust": {"keys"},
    "monitoring": {"spark_master"},
}
#: Sections whose keys the owning package validates (``Settings.section``):
#: ``riskops.events`` reads [events] and [grafana], ``riskops.jobs`` [scheduler] and [worker],
#: ``riskops.serving`` [serving], ``riskops.governance`` [governance].
DELEGATED_SECTIONS = ("events", "grafana", "scheduler", "worker", "serving", "governance")
DEFAULT_MAX_ARTIFACT_BYTES = 8 * 1024**3
FINGERPRINT_PREFIX = "sha256:"


def check_fingerprint(value: str, *, source: str) -> str:
    """``value`` normalised to lowercase, or ``ValueError`` naming ``source`` and the format."""
    text = value.strip().lower()
    digits = text.removeprefix(FINGERPRINT_PREFIX)
    if not text.startswith(FINGERPRINT_PREFIX) or len(digits) != 64 or any(
            c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"{source}: {value!r} is not a key fingerprint; expected 'sha256:' "
                         "and 64 hex digits (riskops keys list prints them).")
    return text


@dataclass(frozen=True)
class Settings:
    """Validated contents of ``riskops.toml``."""

    database_url: str | None = None
    trusted_types: tuple[str, ...] = ()
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES
    amqp_url: str | None = None
    #: ``[trust] keys``: fingerprints of the keys verifiers trust (``RISKOPS_TRUSTED_KEYS``
    #: overrides them; see ``riskops.registry.trust``).
    trusted_keys: tuple[str, ...] = ()
    #: ``[monitoring] spark_master``: where ``monitor run --engine spark`` runs.
    spark_master: str | None = None
    #: Raw tables of the delegated sections, validated by their owners.
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """The raw ``[name]`` table (empty if absent) of a delegated section."""
        if name not in DELEGATED_SECTIONS:
            raise KeyError(name)
        return dict(self.sections.get(name, {}))


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; ``settings`` as read from its config file."""

    home: Path
    settings: Settings = field(default_factory=Settings)

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_NAME

    @property
    def store_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def private_key_path(self) -> Path:
        return self.keys_dir / "signing.pem"

    @property
    def public_key_path(self) -> Path:
        return self.keys_dir / "public.pem"

    @property
    def manifest_path(self) -> Path:
        return self.home / "manifest.json"

    @property
    def signature_path(self) -> Path:
        return self.home / "manifest.json.sig"

    @property
    def manifest_archive_dir(self) -> Path:
        return self.home / "manifests"

    @property
    def database_url(self) -> str:
        """``RISKOPS_DATABASE_URL``, else the config file, else SQLite in the home."""
        return (
            os.environ.get(ENV_DATABASE_URL)
            or self.settings.database_url
            or f"sqlite:///{(self.home / 'riskops.db').resolve()}"
        )

    @property
    def amqp_url(self) -> str | None:
        """``RISKOPS_AMQP_URL``, else ``[amqp] url``; ``None`` means no broker (embedded)."""
        return os.environ.get(ENV_AMQP_URL) or self.settings.amqp_url

    @property
    def spark_master(self) -> str:
        """``RISKOPS_SPARK_MASTER``, else ``[monitoring] spark_master``, else ``local[2]``."""
        return (os.environ.get(ENV_SPARK_MASTER) or self.settings.spark_master
                or DEFAULT_SPARK_MASTER)


def resolve_home(home: str | Path | None = None) -> Path:
    """The workspace folder: ``home``, else ``$RISKOPS_HOME``, else ``./.riskops``."""
    chosen = home or os.environ.get(ENV_HOME) or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def open_workspace(home: str | Path | None = None) -> Workspace:
    """Open an initialised workspace, reading and validating its config.

    Raises
    ------
    WorkspaceNotFound
        If the folder has no ``riskops.toml``.
    InputError
        If the config file is malformed or holds unknown keys or wrong types.
    """
    path = resolve_home(home)
    config = path / CONFIG_NAME
    if path.exists() and not path.is_dir():
        raise InputError(f"workspace {path} is a file, not a folder; point --home or "
                         f"{ENV_HOME} at a folder.")
    if not config.is_file():
        raise WorkspaceNotFound(
            f"no riskops workspace at {path} ({CONFIG_NAME} not found); "
            f"run 'riskops init --home {path}' or set {ENV_HOME}."
        )
    return Workspace(home=path, settings=read_settings(config))


def read_settings(config: Path) -> Settings:
    """Parse and validate a ``riskops.toml`` file."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{config}: not UTF-8 text ({exc.reason}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{config}: malformed TOML: {exc}.") from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table.
        raise InputError(f"{config}: malformed TOML: arrays or tables nested too deeply.") \
            from None
    return settings_from_dict(data, source=str(config))


def settings_from_dict(data: dict[str, Any], *, source: str) -> Settings:
    known_sections = sorted([*_KNOWN_KEYS, *DELEGATED_SECTIONS])
    for section, value in data.items():
        if section not in known_sections:
            raise InputError(
                f"{source}: unknown section [{section}]; "
                f"known sections are {', '.join(known_sections)}."
            )
        if not isinstance(value, dict):
            raise InputError(
                f"{source}: [{section}] must be a table, not a {type(value).__name__}."
            )
        if section in DELEGATED_SECTIONS:
            continue
        unknown = set(value) - _KNOWN_KEYS[section]
        if unknown:
            raise InputError(
                f"{source}: unknown key {section}.{sorted(unknown)[0]}; "
                f"known keys in [{section}] are {', '.join(sorted(_KNOWN_KEYS[section]))}."
            )
    database = data.get("database", {})
    registry = data.get("registry", {})
    url = database.get("url")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise InputError(f"{source}: database.url must be a non-empty string.")
    trusted = registry.get("trusted_types", [])
    if not isinstance(trusted, list) or not all(isinstance(t, str) and t for t in trusted):
        raise InputError(f"{source}: registry.trusted_types must be a list of type names.")
    max_bytes = registry.get("max_artifact_bytes", DEFAULT_MAX_ARTIFACT_BYTES)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise InputError(f"{source}: registry.max_artifact_bytes must be a positive integer.")
    amqp_url = data.get("amqp", {}).get("url")
    if amqp_url is not None and (
        not isinstance(amqp_url, str) or not amqp_url.startswith(("amqp://", "amqps://"))
    ):
        raise InputError(f"{source}: amqp.url must be an amqp:// or amqps:// URL.")
    spark_master = data.get("monitoring", {}).get("spark_master")
    if spark_master is not None and (not isinstance(spark_master, str)
                                     or not spark_master.strip()):
        raise InputError(f"{source}: monitoring.spark_master must be a non-empty string, "
                         f"got {spark_master!r}; e.g. spark_master = \"spark://host:7077\" "
                         "or \"local[4]\".")
    keys = data.get("trust", {}).get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InputError(f"{source}: trust.keys must be a list of key fingerprints "
                         "('sha256:' and 64 hex digits).")
    pinned = []
    for key in keys:
        try:
            pinned.append(check_fingerprint(key, source=f"{source}: trust.keys"))
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return Settings(
        database_url=url, trusted_types=tuple(trusted), max_artifact_bytes=max_bytes,
        amqp_url=amqp_url, trusted_keys=tuple(pinned), spark_master=spark_master,
        sections={name: dict(data[name]) for name in DELEGATED_SECTIONS if name in data},
    )
