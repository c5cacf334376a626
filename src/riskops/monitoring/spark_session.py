"""The Spark session ``monitor run --engine spark`` runs on, and why there may be none.

    with spark_session("local[2]") as spark:   # an active session is reused, not stopped
        spark.read.parquet(...)

The master is ``RISKOPS_SPARK_MASTER``, else ``[monitoring] spark_master`` in
``riskops.toml``, else ``local[2]`` (``Workspace.spark_master``). pyspark is
the optional extra ``riskops[spark]``; it drives a JVM, so a Java runtime (17
or newer) must be on ``PATH`` or under ``JAVA_HOME``. Either missing is one
``InputError`` line naming the fix.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from riskops.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "riskops-monitoring"
#: Shuffle partitions on a local master: Spark's default (200) is for clusters.
LOCAL_SHUFFLE_PARTITIONS = 8


def java_missing() -> str | None:
    """Why no Java runtime can start (``None`` when ``JAVA_HOME`` or ``PATH`` has one)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return None if (Path(home) / "bin" / "java").exists() else \
            f"JAVA_HOME is {home}, which has no bin/java"
    return None if shutil.which("java") else "no java on PATH and JAVA_HOME is unset"


def check_spark() -> None:
    """``InputError`` naming the fix when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError("--engine spark needs pyspark, which is not installed; "
                         "run pip install 'riskops[spark]' or use --engine duckdb.") from None
    reason = java_missing()
    if reason is not None:
        raise InputError(f"--engine spark needs a Java runtime (17 or newer): {reason}; "
                         "install one (apt-get install default-jre-headless) or set JAVA_HOME, "
                         "or use --engine duckdb.")


@contextmanager
def spark_session(master: str) -> Iterator[SparkSession]:
    """The active Spark session, else a new one on ``master`` (stopped on exit)."""
    check_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        configure(active)
        yield active
        return
    builder = (SparkSession.builder.master(master).appName(APP_NAME)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false"))
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start or the master did not answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not start Spark on master {master!r}: {first}; check "
                         "RISKOPS_SPARK_MASTER or [monitoring] spark_master.") from None
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def configure(spark: SparkSession) -> None:
    """The settings the window queries rely on, on a session riskops did not create."""
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
