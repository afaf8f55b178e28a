"""Contact sounds by modal synthesis, and the contact microphone that hears them.

A struck or squeezed object rings at the resonances of its material: a sum of exponentially damped
sinusoids plus a short noise burst (the contact itself). Sliding excites the same material's noise colour
(a scrape). Buttons play longer tones. Every sound is deterministic given its amplitude and a generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
MAX_DURATION = 2.0  # seconds; longer tails are cut


@dataclass(frozen=True)
class Sound:
    """A modal sound: partials (Hz), their decay times (s) and gains, plus a noise burst.

    `smoothing` low-passes the noise (a triangular window that many samples wide: dull foam, bright metal);
    `gate` cuts a sustained tone after that many seconds."""

    phrase: str  # how a person says what it sounds like ("rings like metal")
    freqs: tuple[float, ...]
    decays: tuple[float, ...]
    gains: tuple[float, ...]
    noise: float = 0.2
    noise_decay: float = 0.006
    smoothing: int = 2
    gate: float | None = None

    @property
    def duration(self) -> float:
        """Seconds until every partial has decayed below 1/1000 (or the gate closes), at most MAX_DURATION."""
        ring = min(7.0 * max(max(self.decays), self.noise_decay), MAX_DURATION)
        return min(ring, self.gate + 0.02) if self.gate else ring

    def coloured_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """White noise low-passed by a triangular window `smoothing` samples wide (unit power)."""
        kernel = np.bartlett(self.smoothing + 2)[1:-1]
        return np.convolve(rng.standard_normal(n), kernel / np.linalg.norm(kernel), mode="same")

    def render(self, amplitude: float, rng: np.random.Generator) -> np.ndarray:
        """The whole waveform of one excitation (impact, squeeze or press), float32."""
        t = np.arange(int(self.duration * SAMPLE_RATE)) / SAMPLE_RATE
        freqs, decays, gains = (np.asarray(v)[:, None] for v in (self.freqs, self.decays, self.gains))
        wave = (gains * np.exp(-t / decays) * np.sin(2 * np.pi * freqs * t)).sum(axis=0)
        wave += self.noise * np.exp(-t / self.noise_decay) * self.coloured_noise(t.size, rng)
        if self.gate:
            wave *= np.clip((self.gate + 0.02 - t) / 0.02, 0.0, 1.0)
        return (amplitude * 0.4 * wave).astype(np.float32)

    def scrape(self, n: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
        """`n` samples of sliding contact: the material's noise colour, as loud as the slide is fast."""
        return (amplitude * 0.05 * self.coloured_noise(n, rng)).astype(np.float32)


# What objects sound like, by material. Soft materials are dull and noisy, hard ones ring.
MATERIALS = {
    "wood": Sound(
        "knocks like wood", (420, 1150, 2300), (0.04, 0.025, 0.015), (1, 0.6, 0.3), 0.3, smoothing=4
    ),
    "metal": Sound("rings like metal", (1250, 3380, 5900), (0.5, 0.35, 0.2), (1, 0.7, 0.4), 0.1, smoothing=1),
    "plastic": Sound("clicks like plastic", (900, 2100, 3700), (0.03, 0.02, 0.01), (1, 0.6, 0.3), 0.4),
    "rubber": Sound(
        "squeaks like rubber", (180, 1400, 2800), (0.05, 0.08, 0.06), (1, 0.5, 0.25), 0.2, smoothing=8
    ),
    "foam": Sound("rustles softly", (120,), (0.03,), (0.3,), 0.6, noise_decay=0.05, smoothing=16),
    "glass": Sound(
        "clinks like glass", (2600, 5300, 7100), (0.3, 0.2, 0.15), (1, 0.5, 0.3), 0.1, smoothing=1
    ),
}

# What buttons play when pressed.
TONES = {
    "high chime": Sound("plays the high chime", (1760, 3527, 5290), (0.6, 0.4, 0.3), (1, 0.4, 0.2), 0.05),
    "low chime": Sound("plays the low chime", (440, 882, 1321), (0.8, 0.5, 0.3), (1, 0.4, 0.2), 0.05),
    "piano": Sound(
        "plays the piano", (262, 524, 786, 1048), (0.7, 0.5, 0.35, 0.25), (1, 0.6, 0.4, 0.25), 0.1
    ),
    "buzzer": Sound(
        "plays the buzzer", (150, 450, 750, 1050, 1350), (2,) * 5, (1, 0.33, 0.2, 0.14, 0.11), 0.0, gate=0.5
    ),
    "whistle": Sound("plays the whistle", (2400, 4800), (1.0, 1.0), (1, 0.1), 0.0, gate=0.5),
    "gong": Sound("plays the gong", (200, 310, 475, 690), (1.2, 0.9, 0.7, 0.5), (1, 0.7, 0.5, 0.3), 0.1),
}


class ContactMicrophone:
    """The last `window` samples a contact microphone heard.

    Sounds are added to a ring buffer of what is still to come; each control step moves one `chunk` of it
    into the window, with a faint noise floor, so a sound started now rings on through later steps."""

    def __init__(self, chunk: int, window: int = SAMPLE_RATE, noise_floor: float = 1e-3) -> None:
        self.chunk = chunk
        self.noise_floor = noise_floor
        self.window = np.zeros(window, np.float32)
        self._future = np.zeros(int(MAX_DURATION * SAMPLE_RATE) // chunk * chunk, np.float32)
        self._now = 0  # where the next chunk starts in the ring
        self._rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.window[:] = 0.0
        self._future[:] = 0.0
        self._now = 0

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    def play(self, wave: np.ndarray) -> None:
        """Start a sound at the beginning of the next chunk (cut at MAX_DURATION)."""
        wave = wave[: self._future.size]
        first = min(wave.size, self._future.size - self._now)
        self._future[self._now : self._now + first] += wave[:first]
        self._future[: wave.size - first] += wave[first:]

    def advance(self) -> None:
        """Hear one chunk: shift the window and append the next chunk of what is to come."""
        c, now = self.chunk, self._now
        heard = self._future[now : now + c] + self.noise_floor * self._rng.standard_normal(c)
        self.window[:-c] = self.window[c:]
        self.window[-c:] = np.clip(heard, -1.0, 1.0)  # the microphone saturates
        self._future[now : now + c] = 0.0
        self._now = (now + c) % self._future.size
