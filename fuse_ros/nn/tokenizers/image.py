"""RGB camera tokenizer in the spirit of Octo's SmallStem: a conv stem, one token per output cell.

With `film_dim`, the stem is conditioned on the instruction as in RT-1 (`film_layer`), so "the red
button" selects red features before the transformer has to find them."""

from __future__ import annotations

from torch import Tensor, nn

from fuse_ros.nn.tokenizers.base import Tokenizer, conv_stack, film_layer, halved, run_stack


class ImageTokenizer(Tokenizer):
    """uint8 (H, W, 3) images -> (H / 2^k) x (W / 2^k) tokens, k = len(channels).

    Scaling to [-1, 1] happens inside, so the exported graph takes raw camera bytes."""

    def __init__(
        self, name: str, shape: tuple[int, ...], width: int, channels: tuple[int, ...], film_dim: int = 0
    ):
        height, wide = shape[0], shape[1]
        super().__init__(name, halved(height, len(channels)) * halved(wide, len(channels)), width)
        self.stem = conv_stack(3, channels)
        self.proj = nn.Conv2d(channels[-1], width, kernel_size=1)
        self.film = film_layer(film_dim, channels)

    def embed(self, images: Tensor, condition: Tensor | None = None) -> Tensor:
        x = images.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (BT, 3, H, W)
        x = self.proj(run_stack(self.stem, x, self.film, condition))  # (BT, D, h, w)
        return x.flatten(2).transpose(1, 2)  # (BT, h*w, D)
