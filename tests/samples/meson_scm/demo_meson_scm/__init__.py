"""A pure package built by meson-python."""
