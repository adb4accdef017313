"""The real-model corpus table (scripts/real_models.py): what shipped, and the rows as markdown.

``shipped_scheme`` reads a `compress` report (the scheme and its float layers, every output's
cosine, the size against the fp32 weight bytes); ``strings_same`` compares greedy-CTC strings of
an OCR model's int8 file with PyTorch's; ``render`` prints the rows as the README's table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["ctc_strings", "edit_distance", "notes_of", "render", "shipped_scheme", "strings_same"]


def ctc_strings(archs, logits: np.ndarray) -> list[str]:
    return [archs.TextRecognizer.greedy_decode(torch.from_numpy(row)) for row in logits]


def strings_same(reference: np.ndarray, test: np.ndarray) -> str:
    """How many eval crops read the same string (greedy CTC) from ``test`` as from PyTorch, the
    character error rate against PyTorch's strings (edit distance / their length), and the share
    of timesteps whose best symbol (blank included) is PyTorch's."""
    import real_model_archs as archs  # beside this module (scripts/ is on the path)

    want, got = ctc_strings(archs, reference), ctc_strings(archs, test)
    edits = sum(edit_distance(a, b) for a, b in zip(want, got))
    steps = float(np.mean(reference.argmax(-1) == test.argmax(-1)))
    return (f"{sum(a == b for a, b in zip(want, got))}/{len(want)}, CER {edits / max(1, sum(map(len, want))):.3f}, "
            f"timestep argmax {steps:.3f}")


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (char != other))
    return row[-1]


def shipped_scheme(report: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """Which quantization scheme shipped (static int8, or a fallback such as dynamic-range with
    the layers it kept float), the cosine of every output, and the artifact's size against the
    model's fp32 weight bytes (4 x its parameters)."""
    steps = {s.get("name"): s for s in report.get("steps", [])}
    int8, verify = steps.get("int8") or {}, steps.get("verify") or {}
    found: dict[str, Any] = {}
    if int8.get("scheme"):
        names = int8.get("float_layers") or []
        shown = ", ".join(names) if len(names) <= 3 else f"{len(names)} layers: {', '.join(names[:2])}, ..."
        found["scheme"] = int8["scheme"] + (f" ({shown} float)" if names else "")
    if verify.get("outputs"):
        found["cosine"] = [round(o["cosine"], 4) for o in verify["outputs"] if o.get("cosine") is not None]
    size = (report.get("compressed") or {}).get("size_bytes")
    if size:
        found["size_vs_fp32_weights"] = round(size / (4 * sum(p.numel() for p in model.parameters())), 3)
    return found

def render(rows: list[dict]) -> str:
    head = ("| model | kind | form | exit | status | scheme | SQNR dB per output | cosine | int8/fp32 latency "
            "| int8/fp32 size | size / fp32 weights | hand SQNR dB | hand latency | hand size | fp32 ms | s | notes |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        sq = lambda key: ", ".join(f"{v:g}" for v in r[key]) if key in r else "-"
        status = r.get("status", "")
        if r.get("why"):
            status = f"{status} ({r['why'][:100]})" if status != r["why"] else status
        if r.get("hand_error"):
            status += f"; hand route: {r['hand_error']}"
        lines.append(f"| {r['model']} | {r['kind']} | {r['form']} | {r.get('exit', '-')} | {status} "
                     f"| {r.get('scheme', '-')} | {sq('sqnr_db')} | {sq('cosine')} "
                     f"| {r.get('latency_x', '-')} | {r.get('size_x', '-')} | {r.get('size_vs_fp32_weights', '-')} "
                     f"| {sq('hand_sqnr_db')} "
                     f"| {r.get('hand_latency_x', '-')} | {r.get('hand_size_x', '-')} | {r.get('fp32_ms', '-')} "
                     f"| {r.get('seconds', '-')} | {notes_of(r)} |")
    return "\n".join(lines)


def notes_of(row: dict) -> str:
    if "strings_same" in row or "hand_strings_same" in row:
        return (f"CTC strings same as PyTorch: int8 {row.get('strings_same', '-')}; "
                f"hand {row.get('hand_strings_same', '-')}")
    return ""
