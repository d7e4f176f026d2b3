"""A sample meson-python project whose meson.build computes the version."""
