"""Color words: the palette's ten names plus the CSS named colors, mapped onto the palette.

The lexicon is the CSS Color Module Level 4 list of named colors from the `webcolors` package
(147 names such as crimson, navy, teal, chocolate), not a hand-typed list. Each CSS color maps to
the palette color it looks like, decided from its hue, saturation and lightness:

- unsaturated colors (chroma below 0.15: silver, slategray, white, black, beige) are gray;
- otherwise each palette hue owns a band of the hue circle: red below 12 and from 345 degrees,
  orange 12-42, yellow 42-70, green 70-158, cyan 158-200, blue 200-258, purple 258-310,
  pink 310-345 (the bands are the midpoints between the palette's hues, moved where names
  disagree with plain distance: yellow is a narrow band to the eye, violet and magenta read
  purple);
- light reds (lightness at least 0.7: pink, salmon, lightcoral) are pink;
- dark, muted or pale oranges (HSV value at most 0.85, HLS saturation at most 0.6 or lightness
  at least 0.8: chocolate, tan, sienna, peru, saddlebrown, wheat) are brown.

`palette_color(word)` answers for one word or a compound written with spaces ("light blue",
"dark green"); a palette name inside a compound wins ("navy blue" is blue).
"""

from __future__ import annotations

import colorsys
from functools import lru_cache
from typing import Final

import webcolors

from robot_llm.tabletop.palette import COLORS, PALETTE

# Hue bands in degrees [start, end) -> palette color; red wraps around 0.
_HUE_BANDS: Final = (
    (12.0, 42.0, "orange"),
    (42.0, 70.0, "yellow"),
    (70.0, 158.0, "green"),
    (158.0, 200.0, "cyan"),
    (200.0, 258.0, "blue"),
    (258.0, 310.0, "purple"),
    (310.0, 345.0, "pink"),
)
GRAY_CHROMA: Final = 0.15
# Modifiers that may come before a color word without changing which palette color it is.
SHADE_WORDS: Final = frozenset(
    {"light", "dark", "pale", "deep", "bright", "dull", "pastel", "vivid", "hot", "soft", "navy"}
)
ALIASES: Final = {"grey": "gray"}


def classify_rgb(r: float, g: float, b: float) -> str:
    """The palette color an RGB color (components in [0, 1]) looks like."""
    chroma = max(r, g, b) - min(r, g, b)
    if chroma < GRAY_CHROMA:
        return "gray"
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    hue *= 360.0
    value = max(r, g, b)
    for start, end, name in _HUE_BANDS:
        if start <= hue < end:
            if name == "orange" and (value <= 0.85 or saturation <= 0.6 or lightness >= 0.8):
                return "brown"
            return name
    return "pink" if lightness >= 0.7 else "red"


@lru_cache(maxsize=1)
def color_lexicon() -> dict[str, str]:
    """Every known color word (palette names, CSS names, aliases) -> palette color."""
    out: dict[str, str] = {}
    for name in webcolors.names("css3"):
        r, g, b = webcolors.name_to_rgb(name)
        out[name] = classify_rgb(r / 255, g / 255, b / 255)
    out.update({name: name for name in COLORS})
    out.update(ALIASES)
    return out


def palette_color(phrase: str) -> str | None:
    """The palette color a color word or phrase names, or None if it names no color.

    "crimson" -> red, "navy" -> blue, "light blue" -> blue, "lightblue" -> cyan, "red green" ->
    None.
    """
    words = phrase.lower().replace("-", " ").split()
    if not words:
        return None
    lex = color_lexicon()
    if len(words) == 1:
        return lex.get(words[0])
    joined = "".join(words)
    if joined in lex and joined not in COLORS:
        return lex[joined] if words[-1] not in COLORS else lex[words[-1]]
    *mods, last = words
    if last in lex and all(m in SHADE_WORDS or lex.get(m) == lex[last] for m in mods):
        # "navy blue", "dark green", "lime green": the last color word is what was said; two
        # colors that differ ("red green", "crimson lime") are a list said without commas
        return lex[last]
    return None


def check_palette() -> None:
    """Each palette color classifies as itself (guards the bands when the palette changes)."""
    for name, rgb in PALETTE.items():
        got = classify_rgb(*rgb)
        if got != name:
            raise AssertionError(f"palette color {name} {rgb} classifies as {got}")
