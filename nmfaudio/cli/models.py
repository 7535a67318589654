"""``nmfaudio models``: list the bundled pre-trained models."""

from __future__ import annotations

import json


def add_parser(sub):
    p = sub.add_parser(
        "models", help="list the bundled pre-trained models (instruments, speech)",
        description="List the models shipped with nmfaudio: name, kind, sample rate, size, "
                    "training material and its licence. Use a name with "
                    "nmfaudio.load_model(name) or separate(..., instruments=[...]).",
    )
    p.add_argument("--json", action="store_true", help="print only JSON on stdout")
    p.set_defaults(func=run)
    return p


def format_table(models) -> str:
    """A plain-text table of :func:`nmfaudio.list_models` entries, then each model's material."""
    head = ["name", "kind", "sr", "K", "size"]
    rows = [[m["name"], m["kind"], str(m["sr"]), str(m["n_components"]), f"{m['bytes'] / 1024:.0f} KiB"]
            for m in models]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(head, widths))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in rows]
    total = sum(m["bytes"] for m in models)
    lines.append(f"{len(models)} models, {total / 1024 / 1024:.2f} MiB")
    lines.append("")
    for m in models:
        lines.append(f"{m['name']}: trained on " + "; ".join(m["training_material"]))
        lines.append(f"{' ' * len(m['name'])}  licence: {m['licence']}")
    return "\n".join(lines)


def run(args) -> int:
    from ..models import list_models

    models = list_models()
    if args.json:
        print(json.dumps(models, indent=1))
    else:
        print(format_table(models))
    return 0
