"""Stage 1.5: generated LR images and domain-distance maps (``dasr generate``).

``domain_distance`` computes a map from an LR image, ``heatmap`` draws it for people, and
``generate`` writes the pairs folder that stage 2 trains on (layout: docs/generate.md).
"""
