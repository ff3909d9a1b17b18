"""``assisterr-probe``: ask the service every question once, record it, judge what the client read.

Input is checked before anything is sent (``scripts/run.py`` does that before setting up its
environment, so this module imports nothing beyond the core's pure parts until it sends).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assisterr_core.transport import (
    DEFAULT_BASE_URL,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_HANDLE_NAME,
    ClientSettings,
    InvalidRequestError,
    Timeout,
    check_identifier,
)

from .exchanges import STEPS, describe
from .recording import MAX_EXCHANGE_SECONDS, Redactor

PROG = "assisterr-probe"
DESCRIPTION = f"""Check the client against the real Assisterr service: call every endpoint once,
record what comes back byte for byte, and print what the core client makes of each answer.

What it costs: two chats and two streams on your SLM (one of each in a session), one session
created and deleted again, and four error probes that reach no model (a wrong key, an
unknown session, a chat body without 'query', a path without its trailing slash).

The recording (--out) holds every request and answer with the API key redacted everywhere,
so it can be attached to a bug report as it is. Replay it offline with
  python -m assisterr_emulator --replay RECORDING.json

Exit status: 0 when the client understood every answer, 1 when there are findings, 2 for bad
input (nothing is sent). Settings come from {ENV_API_KEY}, {ENV_HANDLE_NAME} and {ENV_BASE_URL}
unless given as options."""


class BadInput(Exception):
    """Input the probe refuses before sending anything."""


@dataclass(frozen=True)
class Plan:
    """A checked command line: what to probe and where the recording goes."""

    settings: ClientSettings
    handle: str | None
    out: Path
    dry_run: bool
    deadline: float


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-key", help=f"the API key (default: ${ENV_API_KEY})")
    parser.add_argument("--handle", help=f"the SLM's handle name (default: ${ENV_HANDLE_NAME})")
    parser.add_argument("--base-url",
                        help=f"the API root (default: ${ENV_BASE_URL}, else {DEFAULT_BASE_URL})")
    parser.add_argument("--out", type=Path,
                        help="the recording's file (default: assisterr-probe-HANDLE-TIME.json "
                             "in the current directory)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for each read (default: 120, at most 3600); "
                             "an exchange gets at most 300 s, or this if it is longer")
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would be sent, and send nothing")
    return parser


def check(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    quiet: bool = False,
) -> Plan:
    """Parse and check the command line; :class:`BadInput` says what is wrong, in one line.

    ``--help`` and argparse's own errors exit here, as argparse does; warnings (a key over
    plain http) are printed unless ``quiet``.
    """
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    key = args.api_key or env.get(ENV_API_KEY, "")
    handle = args.handle or env.get(ENV_HANDLE_NAME) or None
    if not args.dry_run:
        if not key:
            raise BadInput(f"no API key: set {ENV_API_KEY} or pass --api-key")
        if not handle:
            raise BadInput(f"no SLM handle: set {ENV_HANDLE_NAME} or pass --handle")
    if not 0 < args.timeout <= MAX_EXCHANGE_SECONDS:
        raise BadInput(f"--timeout must be positive seconds, at most {MAX_EXCHANGE_SECONDS:g},"
                       f" got {args.timeout:g}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if handle is not None:
                check_identifier(handle, "handle")
            settings = ClientSettings.resolve(
                api_key=key, base_url=args.base_url or env.get(ENV_BASE_URL),
                timeout=Timeout(connect=min(10.0, args.timeout), read=args.timeout),
            )
        except InvalidRequestError as exc:
            raise BadInput(str(exc)) from None
    for warning in [] if quiet else caught:
        print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path(f"assisterr-probe-{handle or 'slm'}-{stamp}.json")
    if not args.dry_run:
        _check_writable(out)
    return Plan(settings, handle, out, args.dry_run, max(300.0, args.timeout))


def _check_writable(path: Path) -> None:
    """Open the file for writing now, so a bad --out costs nothing."""
    if path.is_dir():
        raise BadInput(f"--out {path} is a directory")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise BadInput(f"cannot write --out {path}: {exc.strerror or exc}") from None
    if not existed:
        path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        plan = check(argv)
    except BadInput as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if plan.dry_run:
        print(f"Would send to {_shown(plan.settings)}, in this order "
              f"(nothing sent now):")
        for index, step in enumerate(STEPS, 1):
            print(f"{index:>3}. {describe(step, plan.handle)}")
        return 0
    return _probe(plan)


def _shown(settings: ClientSettings) -> str:
    """The base URL as it may be printed: with the key redacted, should it hold it."""
    return Redactor(settings.api_key.get_secret_value()).text(settings.base_url)


def _probe(plan: Plan) -> int:
    from .recording import Exchange
    from .runner import ProbeInterrupted, ProbeSettings, ServiceUnreachable, run_probe
    from .verdict import judge, render

    assert plan.handle is not None
    settings = ProbeSettings(plan.settings.api_key, plan.settings.base_url, plan.handle,
                             plan.settings.timeout, plan.deadline)
    print(f"Probing SLM {plan.handle!r} at {_shown(plan.settings)} "
          f"({len(STEPS)} exchanges)...", file=sys.stderr, flush=True)

    def progress(exchange: Exchange) -> None:
        status = "skipped" if exchange.skipped else (
            str(exchange.response.status) if exchange.response else "no answer")
        print(f"  {exchange.name:<18} {status}"
              f" ({exchange.elapsed_ms / 1000:.1f} s)", file=sys.stderr, flush=True)

    try:
        recording = run_probe(settings, progress)
    except ServiceUnreachable as exc:
        print(f"{PROG}: {exc}: nothing was sent and nothing recorded; check the network, "
              f"or {ENV_BASE_URL} / --base-url", file=sys.stderr)
        return 1
    except ProbeInterrupted as exc:
        print(f"{PROG}: interrupted; {exc.session}; nothing recorded", file=sys.stderr)
        return 130
    try:
        verdict = judge(recording)
        print(render(verdict))
        recording.dump(plan.out)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted after the last exchange; the recording was not written",
              file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"{PROG}: could not write the recording to {plan.out}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    print(f"\nRecording: {plan.out} (no API key in it; attach it to a bug report as it is).")
    return 0 if verdict.understood else 1
