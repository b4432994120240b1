"""What needs the user's attention now: the banner's text and commands, and the closing warning.

Plain data built from the run's facts (no Qt): the session decides *when* to
show one, the banner only draws it, and commands are names ("approve",
"resume", "dismiss") that the window maps to its actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Problem
from stella_desktop.presentation import plural

UNFINISHED = ("running", "cancelled", "interrupted", "waiting")


@dataclass(frozen=True)
class Attention:
    text: str
    commands: tuple[tuple[str, str], ...] = ()  # (button label, command name)
    run_id: str | None = None


def waiting(step, kind: str) -> Attention:
    if kind == "approval":
        text = f"Paused: the run is waiting for approval '{step.approval_id}' at step '{step.id}'."
        if isinstance(step.gate_message, str) and step.gate_message:
            text += f"  {step.gate_message}"
        return Attention(text, (("Approve…", "approve"), ("Reject…", "reject")))
    return Attention(f"Paused: the run is waiting for a decision on policy '{step.policy}' at step '{step.id}'.",
                     (("Allow…", "allow"), ("Deny…", "deny")))


def stopped(run, status: str) -> Attention:
    if status in ("cancelled", "interrupted"):
        return Attention(f"Run {run.run_id} was {status}. It can be resumed.", (("Resume", "resume"),), run.run_id)
    return Attention(f"Run {run.run_id} {status}.", (("Dismiss", "dismiss"),), run.run_id)


def shown_run(run) -> Attention:
    status = run.scheduler.status
    if status in ("succeeded", "failed"):
        return Attention(f"Showing run {run.run_id} ({status}).", (("Dismiss", "dismiss"),), run.run_id)
    return Attention(f"Showing run {run.run_id} ({status}).", (("Resume", "resume"),), run.run_id)


def resume_offer(summaries) -> Attention | None:
    """The newest unfinished run (interrupted, cancelled or waiting at a gate), offered for resuming."""
    unfinished = [s for s in summaries if s.status in UNFINISHED]
    if not unfinished:
        return None
    newest = unfinished[0]
    pack = (newest.pack or {}).get("name", "?")
    how = "is waiting at a gate" if newest.status == "waiting" else f"was interrupted ({newest.status})"
    text = f"Run {newest.run_id} of {pack} {how}. Resume it?"
    if len(unfinished) > 1:
        text += f"  ({plural(len(unfinished) - 1, 'other unfinished run')} in Runs.)"
    return Attention(text, (("Resume", "resume"), ("Dismiss", "dismiss")), newest.run_id)


def closing_warning(mode: str, run) -> str | None:
    if run is None:
        return None
    if mode == "running":
        return ("Stop the running steps and close? The run is saved and can be resumed when you reopen the app.")
    if mode == "waiting at gate":
        return (f"Run {run.run_id} is waiting at a gate for a decision. Quit anyway? It stays saved: "
                "the next start offers to resume it, and Runs lists it.")
    return None


def nothing_to_decide(kind: str) -> str:
    return f"The run is not waiting for {'an approval' if kind == 'approval' else 'a policy decision'}."


LISTED = 10  # problems a notice names (the Problems dock lists them all)


def refusal(error: Exception) -> str:
    """Why a run cannot be opened or resumed: the error, or the pack's first problems and how many more."""
    problems = list(getattr(error, "problems", None) or ())  # PackInvalid says each problem
    if not problems:
        return str(error)
    lines = [str(problem) for problem in problems[:LISTED]]
    if len(problems) > LISTED:  # a box taller than the screen hides its OK button
        lines.append(f"… and {len(problems) - LISTED} more: open the run's pack to see them all.")
    return "\n".join(lines)


def cannot_start(problems: list[Problem]) -> str:
    hint = ""
    if any("no executor is installed" in p.message for p in problems):
        hint = ("\n\nThe bundled release-approval and nightly-mirror samples (File > Open Sample) "
                "run with the built-in executors.")
    lines = [f"• {p.context() + ': ' if p.context() else ''}{p.message}" for p in problems[:LISTED]]
    if len(problems) > LISTED:  # 4,553 for the 10k pack: a box taller than the screen, its OK out of reach
        lines.append(f"… and {len(problems) - LISTED} more: every problem is listed in Problems.")
    return "Nothing was run:\n" + "\n".join(lines) + hint
