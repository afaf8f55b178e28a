"""FuSe-style instructions for a manipulation episode: variants, validity, rephrasings, descriptions.

A variant names the target through some senses: "visual" by colour and shape, "tactile" by feel,
"audio" by sound (or, with buttons, by the tone a button plays). It is valid when those senses single the
target out among the candidates. Compositional episodes chain senses: "the object with the same colour as
the button that plays the piano" is a visual+audio instruction. `descriptions` say what each sense
perceived of the target: the targets of the sensory-grounded generation loss.
"""

from __future__ import annotations

from fuse_ros.instructions import EMPTY, SIMPLE, Instructions, combinations, variant_names

from .audio import MATERIALS, TONES
from .scene import PlacedButton, PlacedObject
from .tasks import Episode

GROUPS = ("visual", "tactile", "audio")
VARIANTS = variant_names(GROUPS)
PICK_VERBS = ("pick up", "grab", "grasp", "lift", "please pick up", "take")
PRESS_VERBS = ("press", "push", "hit", "please press", "push down")


def instructed_variants(task: str) -> list[str]:
    """The variants a task's episodes can have, less "empty" (no instruction names no target)."""
    groups = tuple(g for g in GROUPS if g != "tactile") if task == "button" else GROUPS  # see button_key
    return [v for v in variant_names(groups) if v != EMPTY]


def senses(variant: str) -> tuple[str, ...]:
    """The sensing groups a variant relies on ("visual+audio" -> ("visual", "audio"))."""
    return () if variant in (SIMPLE, EMPTY) else tuple(variant.split("+"))


def object_key(obj: PlacedObject, groups: tuple[str, ...]) -> tuple:
    """What the given senses tell about an object; equal keys cannot be told apart by them."""
    parts = {
        "visual": (obj.colour.name, obj.kind.shape),
        "tactile": (obj.kind.compliance, obj.kind.texture),
        "audio": (obj.kind.material,),
    }
    return tuple(parts[g] for g in groups)


def button_key(button: PlacedButton, groups: tuple[str, ...]) -> tuple | None:
    """Buttons all feel the same: no key for touch."""
    parts = {"visual": (button.colour.name,), "audio": (button.tone,)}
    return None if "tactile" in groups else tuple(parts[g] for g in groups)


def chained(episode: Episode, groups: tuple[str, ...]) -> bool:
    """Compositional visual+audio variants name the target's colour through the cue button's tone."""
    return episode.cue is not None and "visual" in groups and "audio" in groups


def chain_key(obj: PlacedObject, groups: tuple[str, ...]) -> tuple:
    """Through the chain only the colour is seen (plus the feel, if touch is named too)."""
    return (obj.colour.name, *(object_key(obj, ("tactile",)) if "tactile" in groups else ()))


def key(episode: Episode, index: int, groups: tuple[str, ...]) -> tuple | None:
    """The key of the thing at `index` (an object, or a button in the button task) under `groups`."""
    if episode.target_is_button:
        return button_key(episode.layout.buttons[index], groups)
    obj = episode.layout.objects[index]
    return chain_key(obj, groups) if chained(episode, groups) else object_key(obj, groups)


def is_valid(episode: Episode, variant: str) -> bool:
    if variant in (SIMPLE, EMPTY):
        return True
    groups = senses(variant)
    things = episode.layout.buttons if episode.target_is_button else episode.layout.objects
    target = key(episode, episode.target, groups)
    others = [key(episode, i, groups) for i in range(len(things)) if i != episode.target]
    return target is not None and target not in others


def _object_phrase(episode: Episode, groups: tuple[str, ...]) -> list[str]:
    """Noun phrases naming the target object through `groups` (first = canonical)."""
    obj = episode.layout.objects[episode.target]
    kind = obj.kind
    seen = f"{obj.colour.name} {kind.shape}" if "visual" in groups else "object"
    feel = f"{kind.compliance} {kind.texture} " if "tactile" in groups else ""
    sound = f" that {MATERIALS[kind.material].phrase}" if "audio" in groups else ""
    if chained(episode, groups):
        tone = TONES[episode.layout.buttons[episode.cue].tone].phrase
        base = f"the {feel}object with the same colour as the button that {tone}"
        return [base, f"the {feel}object coloured like the button that {tone}"]
    phrases = [f"the {feel}{seen}{sound}"]
    if feel:
        phrases.append(f"the {seen}{sound} that feels {kind.compliance} and {kind.texture}")
    return phrases


def _button_phrase(episode: Episode, groups: tuple[str, ...]) -> list[str]:
    button = episode.layout.buttons[episode.target]
    seen = f"{button.colour.name} button" if "visual" in groups else "button"
    sound = f" that {TONES[button.tone].phrase}" if "audio" in groups else ""
    return [f"the {seen}{sound}"]


def _rephrasings(episode: Episode, variant: str) -> tuple[str, ...]:
    where = " in the bin" if episode.layout.bin_xy else ""
    if episode.target_is_button:
        button = episode.layout.buttons[episode.target]
        phrases = (
            [f"the {button.tone} button"] if variant == SIMPLE else _button_phrase(episode, senses(variant))
        )
        verbs = PRESS_VERBS
    else:
        noun = f"the {episode.layout.objects[episode.target].kind.noun}"
        phrases = [noun] if variant == SIMPLE else _object_phrase(episode, senses(variant))
        verbs = PICK_VERBS
    return tuple(f"{verb} {phrase}{where}" for phrase in phrases for verb in verbs)


def _descriptions(episode: Episode) -> dict[str, str]:
    """What each combination of senses perceived of the target (only senses that perceived something)."""
    layout = episode.layout
    if episode.target_is_button:
        button = layout.buttons[episode.target]
        parts = {"visual": f"a {button.colour.name} button", "audio": f"it {TONES[button.tone].phrase}"}
    else:
        obj = layout.objects[episode.target]
        parts = {
            "visual": f"a {obj.colour.name} {obj.kind.shape}",
            "tactile": f"it feels {obj.kind.compliance} and {obj.kind.texture}",
            "audio": f"it {MATERIALS[obj.kind.material].phrase}",
        }
        if episode.cue is not None:
            cue = layout.buttons[episode.cue]
            parts["audio"] += f"; the {cue.colour.name} button {TONES[cue.tone].phrase}"
    return {
        combo: ", ".join(parts[g] for g in combo.split("+"))
        for combo in combinations(GROUPS)
        if all(g in parts for g in combo.split("+"))
    }


def instructions(episode: Episode) -> Instructions:
    variants = {
        v: (_rephrasings(episode, v) if is_valid(episode, v) and v != EMPTY else ()) for v in VARIANTS
    }
    return Instructions(variants, _descriptions(episode))
