"""Errors riskops raises on purpose.

Every ``RiskopsError`` carries an ``exit_code`` for the command line (DESIGN:
0 ok, 1 a check failed, 2 usage or input error) and a message that names the
input, the rule it broke and what to do next. ``cli/main.py`` prints
``str(exc)`` as one ``error:`` line and exits with it. The classes outside
``RiskopsError`` never reach the command line: they are signals between the
parts of a long-running process (the job worker, the event dispatcher, the
server), each caught where it is handled.

    Exception
    ├── RiskopsError                  base; exit_code tells the command line how to exit
    │   ├── InputError            (2) bad argument, file, config or directory
    │   │   ├── WorkspaceNotFound     no workspace at the home
    │   │   ├── UnknownModel          no model of that name
    │   │   ├── UnknownVersion        the model has no such version
    │   │   ├── InvalidToken          API token unknown, revoked or malformed
    │   │   ├── UnknownScenario       no scenario of that name
    │   │   ├── InvalidTrainingData   a training file breaks a rule of the schema
    │   │   ├── DataChanged           reproduce: not the bytes the version was trained on
    │   │   ├── BrokerUnavailable     the AMQP broker is unreachable or refused the topology
    │   │   ├── UnknownPrediction     feedback for a prediction id not in the inference log
    │   │   └── JobUnavailable        a job's code cannot be imported (also a RuntimeError)
    │   └── CheckFailed           (1) a verification or a rule said no
    │       ├── IntegrityError        signature, digest, size or confinement failure
    │       ├── AuditLogBroken        the hash chain does not hold
    │       ├── ConcurrentUpdate      another process changed the same pointer first
    │       ├── PromotionBlocked      a promotion gate failed, or the version was rejected
    │       ├── PermissionDenied      the caller's roles do not allow the action (HTTP 403)
    │       └── ApprovalRefused       an approval breaks the policy (author, twice, role)
    ├── Rejected                      job worker: a message it must not run (dead-lettered)
    ├── DeliveryFailed                event sink did not take the event (retried)
    │   └── PermanentFailure          event sink refused it for good (dead-lettered)
    ├── BodyTooLarge                  server: request body over the limit (413)
    ├── InferenceLogError             server: the inference log cannot take a record (503)
    │   ├── InferenceLogFull          its queue is at the limit
    │   ├── InferenceLogClosed        it is not running
    │   └── InferenceLogWriteFailed   the batch holding the record did not commit
    ├── V2Error                       server: a refused Open Inference (V2) request
    ├── InvalidBody                   server: a request body or header fails validation (422)
    ├── PredictionsNotRecorded        server: a request's predictions did not commit (503)
    └── FastPathUnsupported           server: a model or a row the fast path does not score
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RiskopsError(Exception):
    """Base class; ``exit_code`` tells the command line how to exit."""

    exit_code = 2


# -- input errors (exit 2) ------------------------------------------------------------------


class InputError(RiskopsError):
    """An argument, file, directory or config value is unusable."""

    exit_code = 2


class WorkspaceNotFound(InputError):
    """No initialised workspace at the given or default home."""


class UnknownModel(InputError):
    """The registry holds no model of that name."""


class UnknownVersion(InputError):
    """The model exists but not that version."""


class InvalidToken(InputError):
    """An API token is unknown, revoked or malformed."""


class UnknownScenario(InputError):
    """No reference scenario of that name, and no config file given for a custom one."""


class InvalidTrainingData(InputError):
    """A training file is unreadable, or breaks a rule of the scenario's schema."""


class DataChanged(InputError):
    """The data file is not the one the version was trained on."""


class BrokerUnavailable(InputError):
    """The AMQP broker cannot be reached or refused the topology."""


class UnknownPrediction(InputError):
    """No prediction with that id is in the inference log; ``ids`` lists the unknown ones."""

    def __init__(self, message: str, ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.ids = list(ids)


class JobUnavailable(InputError, RuntimeError):
    """The code of a known job cannot be imported; the run fails with this message."""


# -- checks that said no (exit 1) -----------------------------------------------------------


class CheckFailed(RiskopsError):
    """A verification or a rule failed; the input itself was well formed."""

    exit_code = 1


class IntegrityError(CheckFailed):
    """Signature, digest, size or confinement check failed.

    ``failures`` lists ``(subject, reason)`` pairs, one per failing file.
    """

    def __init__(self, message: str, failures: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


class AuditLogBroken(CheckFailed):
    """The audit log's hash chain is broken at ``seq``."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class ConcurrentUpdate(CheckFailed):
    """Another process changed the same stage pointer between read and write."""


class PromotionBlocked(CheckFailed):
    """A promotion was refused: a gate failed, or the version was rejected or frozen."""


class PermissionDenied(CheckFailed):
    """The caller's roles do not allow the action; HTTP answers 403."""


class ApprovalRefused(CheckFailed):
    """An approval or rejection breaks the approval policy (the message says which rule)."""


# -- signals inside long-running processes (never reach the command line) -------------------


class Rejected(Exception):
    """A job trigger the worker must not run; ``reason`` goes into its dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryFailed(Exception):
    """The sink did not take the event; the dispatcher retries with backoff."""


class PermanentFailure(DeliveryFailed):
    """The sink refused the event for good (e.g. HTTP 400); it is dead-lettered at once."""


class BodyTooLarge(Exception):
    """A request body grew past the server's limit while streaming; answered with 413."""


class InferenceLogError(Exception):
    """Base of the inference log's errors; the server answers 503 for each."""


class InferenceLogFull(InferenceLogError):
    """The queue of records waiting for the database is at its limit."""


class InferenceLogClosed(InferenceLogError):
    """The log is not running: ``start()`` was not called, or ``close()`` was."""


class InferenceLogWriteFailed(InferenceLogError):
    """The batch holding the record did not commit; the record is not durable."""


class V2Error(Exception):
    """A request the V2 endpoints refuse; becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, *, detail: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.headers = headers


class InvalidBody(Exception):
    """A request body or header fails validation; ``errors`` become the 422 ``detail``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class PredictionsNotRecorded(Exception):
    """The inference log could not commit a request's predictions, so none is returned."""

    #: Seconds a client should wait before retrying (the ``Retry-After`` header).
    retry_after = 1

    def __init__(self) -> None:
        super().__init__("the prediction could not be recorded durably, so it is not "
                         "returned; retry.")


class FastPathUnsupported(Exception):
    """The fast path (``serving/fast_path.py``) does not score this model, or this row: the
    estimator scores it instead. The message names what it does not know."""


def exception_line(exc: BaseException, *, limit: int = 200) -> str:
    """``Type: message`` on one line, the message cut at ``limit`` characters: how a fault
    in someone else's code (a user's model, a library) is named inside a riskops error."""
    text = " ".join(str(exc).split())[:limit]
    return f"{type(exc).__name__}: {text}"
